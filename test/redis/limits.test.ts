import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { redisAdapter } from '../../lib/index.js'
import { requireRedis, startNode, uniquePrefix, eventually, hostClient, REDIS_URL } from './helpers.js'
import { startServer } from '../helpers/server.js'
import { openSocket, refusalOf as refusal, type Refusal, type TestClient } from '../helpers/client.js'

/**
 * A WebSocket upgrade request over raw TCP: the test decides when the client
 * goes away. It leaves with resetAndDestroy (a TCP reset, as a crashed client
 * or a dropped network path looks): the server notices a reset on a socket it
 * is not reading from, where a FIN would only be seen at its next write.
 */
function rawUpgrade (port: number, path: string, headers: Record<string, string> = {}): Socket {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  const lines = [
    `GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: Upgrade', 'Upgrade: websocket',
    'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
  ]
  socket.write(lines.join('\r\n') + '\r\n\r\n')
  return socket
}

interface Held {
  /** Resolves once the server has seen this request's socket close. */
  socketClosed: Promise<void>
  resolve (value: true): void
}

/** Handshake steps (an authenticate hook, a host hook) held open until the test lets them go. */
class Stalls {
  readonly #held: Held[] = []
  readonly #waiters: Array<() => void> = []

  hold (request: FastifyRequest): Promise<true> {
    const socket = request.raw.socket
    const socketClosed = new Promise<void>((resolve) => {
      if (socket.destroyed) resolve()
      else socket.once('close', () => resolve())
    })
    return new Promise((resolve) => {
      this.#held.push({ socketClosed, resolve })
      for (const wake of this.#waiters.splice(0)) wake()
    })
  }

  /** Resolves once `count` requests are held. */
  async waitFor (count: number, timeoutMs = 5000): Promise<Held[]> {
    const deadline = AbortSignal.timeout(timeoutMs)
    while (this.#held.length < count) {
      if (deadline.aborted) throw new Error(`only ${this.#held.length} of ${count} handshakes reached the stall`)
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve)
        deadline.addEventListener('abort', () => resolve(), { once: true })
      })
    }
    return [...this.#held]
  }
}

if (requireRedis(t)) {
  t.test('concurrent handshakes for the same user on two nodes: exactly max win', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix, realtime: { maxConnectionsPerUser: 3 } })
    const b = await startNode(t, { prefix, realtime: { maxConnectionsPerUser: 3 } })
    const attempts = [a, b, a, b, a, b, a, b].map(node => openSocket(`${node.wsUrl}/${node.token('racer')}`))
    const results = await Promise.allSettled(attempts)
    const accepted = results.filter((r): r is PromiseFulfilledResult<TestClient> => r.status === 'fulfilled').map(r => r.value)
    t.teardown(() => Promise.all(accepted.map(client => client.close())))
    t.equal(accepted.length, 3, 'three accepted across the cluster')
    t.ok(results.every(r => r.status === 'fulfilled' || (r.reason as Refusal).statusCode === 429), 'the others got 429')
  })

  t.test('a preflight GET runs the handshake checks but claims no cluster slot', async (t) => {
    const prefix = uniquePrefix(t)
    const node = await startNode(t, { prefix, realtime: { maxConnectionsPerUser: 1 } })
    for (let i = 0; i < 3; i++) {
      const response = await node.app.inject({ method: 'GET', url: `/ws/${node.token('asker')}` })
      t.equal(response.statusCode, 426)
    }
    // the synchronous path: nothing was claimed, so there is nothing to wait for
    t.equal(node.adapter.leaseCount, 0, 'no slot held')
    await node.connect('asker')
    t.pass('the one allowed connection still opens')
  })

  t.test('a slot claimed for a client that left while authenticate was pending is freed after handshakeGraceMs', async (t) => {
    const GRACE_MS = 2500
    const prefix = uniquePrefix(t)
    const redis = await hostClient(t)
    const stalls = new Stalls()
    const node = await startNode(t, {
      prefix,
      adapter: { leaseMs: 900, handshakeGraceMs: GRACE_MS },
      realtime: {
        maxConnectionsPerUser: 2,
        // the stalled ones go away before it resolves; the slot is claimed after it, on a dead socket
        authenticate: (payload, request) => payload.stall === true ? stalls.hold(request) : true
      }
    })
    const clients = [rawUpgrade(node.port, `/ws/${node.token('ghost', { stall: true })}`), rawUpgrade(node.port, `/ws/${node.token('ghost', { stall: true })}`)]
    const held = await stalls.waitFor(2)
    for (const client of clients) client.resetAndDestroy()
    await Promise.all(held.map(h => h.socketClosed))
    // the slots are claimed after this instant (once the hook resolves)
    const releasedHooksAt = Date.now()
    for (const h of held) h.resolve(true)

    await eventually(() => node.adapter.leaseCount === 2, 'both slots to be claimed')
    t.equal(await redis.hlen(`${prefix}:user:ghost`), 2, 'two leases in Redis, for no connection')
    const refused = await refusal(openSocket(`${node.wsUrl}/${node.token('ghost')}`))
    t.equal(refused.statusCode, 429, 'while they are held, a real connection is refused: the slots count')
    t.equal(node.app.realtime.stats().connections, 0, 'no connection on the node')

    // freed by the heartbeat's sweep of abandoned handshakes, once handshakeGraceMs has passed
    await eventually(() => node.adapter.leaseCount === 0, 'abandoned slots to be released', GRACE_MS + 3000)
    const freedAfterMs = Date.now() - releasedHooksAt
    t.comment(`freed ${freedAfterMs} ms after they were claimed (handshakeGraceMs ${GRACE_MS}, heartbeat every 300 ms)`)
    t.ok(freedAfterMs >= GRACE_MS, 'not before handshakeGraceMs: a handshake that is merely slow keeps its slot')
    await eventually(async () => await redis.hlen(`${prefix}:user:ghost`) === 0, 'the leases to leave Redis')
    await node.connect('ghost')
    await node.connect('ghost')
    t.equal((await node.app.realtime.clusterStats()).connections, 2, 'maxConnectionsPerUser real connections open; only they count')
    t.equal(await redis.hlen(`${prefix}:user:ghost`), 2)
  })

  t.test('a client that leaves between the checks and the upgrade gives its slot back at once', async (t) => {
    const prefix = uniquePrefix(t)
    const redis = await hostClient(t)
    const stalls = new Stalls()
    const adapter = redisAdapter({ url: REDIS_URL, keyPrefix: prefix, leaseMs: 900, handshakeGraceMs: 600000 })
    const node = await startServer(t, {
      // a host hook that runs after the handshake (slot claimed) and before the upgrade
      before: (app) => {
        app.addHook('preHandler', async (request) => {
          if (request.headers['x-stall'] === '1') await stalls.hold(request)
        })
      },
      realtime: { adapter, maxConnectionsPerUser: 2 }
    })
    const clients = [0, 1].map(() => rawUpgrade(node.port, `/ws/${node.token('leaver')}`, { 'x-stall': '1' }))
    const held = await stalls.waitFor(2)
    t.equal(adapter.leaseCount, 2, 'the handshakes claimed their slots')
    t.equal(await redis.hlen(`${prefix}:user:leaver`), 2)
    for (const client of clients) client.resetAndDestroy()
    await Promise.all(held.map(h => h.socketClosed))
    // handshakeGraceMs is ten minutes: only the socket's close can have freed them
    await eventually(() => adapter.leaseCount === 0, 'the slots to be given back')
    await eventually(async () => await redis.hlen(`${prefix}:user:leaver`) === 0, 'the leases to leave Redis')
    for (const h of held) h.resolve(true)
    await node.connect('leaver')
    await node.connect('leaver')
    t.equal((await node.app.realtime.clusterStats()).connections, 2, 'maxConnectionsPerUser real connections open')
  })
}
