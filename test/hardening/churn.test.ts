import t from 'tap'
import { once } from 'node:events'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import realtime from '../../lib/index.js'
import { SECRET, signToken } from '../helpers/server.js'
import { collectGarbage, rawSocket, until } from './support.js'
import type { Teardown } from '../helpers/teardown.js'

// Churn without leaks: thousands of connections opened and closed every
// way a client can go away (clean close, terminate, TCP destroy, a refused
// handshake, mid-handshake aborts on raw TCP). Afterwards every map is empty,
// the heap is back near its baseline and no listener piled up.
// The server is built here rather than with startServer: that helper keeps
// every log line in memory, which would hide a leak behind the logs' growth.

const CONNECTIONS = 3000
const CONCURRENCY = 100
const RATE_WINDOW_MS = 200

interface Churn { app: FastifyInstance, port: number, warnings: string[] }

async function churnServer (t: Teardown): Promise<Churn> {
  const warnings: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, callback) { warnings.push(chunk.toString()); callback() } })
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(realtime, {
    jwt: SECRET,
    heartbeatIntervalMs: 100,
    connectionTimeoutMs: 5000,
    rateLimit: { max: 100, windowMs: RATE_WINDOW_MS },
    maxConnections: 10_000,
    handshakeRateLimit: { max: 100_000, timeWindowMs: 60_000 }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, port: (app.server.address() as AddressInfo).port, warnings }
}

function upgradeRequest (port: number, token: string): string {
  return `GET /ws/${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
}

/** Resolves on 'close' (events.once would reject on an 'error' first, which these sockets may well emit). */
function closeOf (emitter: NodeJS.EventEmitter): Promise<void> {
  return new Promise(resolve => { emitter.once('close', () => resolve()) })
}

async function rawTcp (port: number, run: (socket: Socket) => void): Promise<void> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  const closed = closeOf(socket)
  run(socket)
  await closed
}

async function openWs (port: number, user: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${signToken({ sub: user })}`)
  ws.on('error', () => {})
  await once(ws, 'message', { signal: AbortSignal.timeout(5000) }) // connection.established
  return ws
}

const SUBSCRIBE = JSON.stringify({ type: 'subscribe', data: { events: ['review.updated', 'system.notification'] } })

/** One connection's life, ended in one of seven ways. */
const WAYS: Record<string, (port: number, user: string) => Promise<void>> = {
  async 'clean close' (port, user) {
    const ws = await openWs(port, user)
    ws.send(SUBSCRIBE)
    await once(ws, 'message') // subscription.confirmed
    const closed = closeOf(ws)
    ws.close(1000)
    await closed
  },
  async terminate (port, user) {
    const ws = await openWs(port, user)
    ws.send(SUBSCRIBE)
    await once(ws, 'message')
    const closed = closeOf(ws)
    ws.terminate()
    await closed
  },
  async 'TCP destroy' (port, user) {
    const ws = await openWs(port, user)
    ws.send(SUBSCRIBE) // not waited for: the socket goes while the server may be answering
    const closed = closeOf(ws)
    rawSocket(ws).destroy()
    await closed
  },
  async 'refused handshake' (port) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/not-a-token`)
    ws.on('error', () => {})
    await closeOf(ws)
  },
  async 'abort right after sending the upgrade' (port, user) {
    await rawTcp(port, socket => socket.write(upgradeRequest(port, signToken({ sub: user })), () => socket.destroy()))
  },
  async 'abort after half the headers' (port, user) {
    const request = upgradeRequest(port, signToken({ sub: user }))
    await rawTcp(port, socket => socket.write(request.slice(0, Math.floor(request.length / 2)), () => socket.destroy()))
  },
  async 'abort on the first bytes of the 101' (port, user) {
    await rawTcp(port, (socket) => {
      socket.once('data', () => socket.destroy())
      socket.write(upgradeRequest(port, signToken({ sub: user })))
    })
  }
}
const WAY_NAMES = Object.keys(WAYS)

async function churn (port: number, count: number, prefix: string): Promise<Record<string, number>> {
  const done: Record<string, number> = {}
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const way = WAY_NAMES[i % WAY_NAMES.length] as string
      await (WAYS[way] as (port: number, user: string) => Promise<void>)(port, `${prefix}-${i}`)
      done[way] = (done[way] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return done
}

function listenerCounts (emitter: NodeJS.EventEmitter): Record<string, number> {
  return Object.fromEntries(emitter.eventNames().map(name => [String(name), emitter.listenerCount(name)]))
}

async function openSockets (app: FastifyInstance): Promise<number> {
  return new Promise((resolve, reject) => app.server.getConnections((err, count) => err ? reject(err) : resolve(count)))
}

t.test(`churn without leaks: ${CONNECTIONS} connections closed cleanly, abruptly and mid-handshake leave empty maps, baseline heap, no listener build-up`, async (t) => {
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => { warnings.push(warning) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })

  const { app, port, warnings: logged } = await churnServer(t)
  const settled = async (): Promise<void> => {
    await until(() => app.realtime.stats().connections === 0 && app.websocketServer.clients.size === 0, 'the server to forget every connection', 10000)
    const deadline = Date.now() + 10000
    while (await openSockets(app) > 0 && Date.now() < deadline) await delay(10)
  }

  // warm up (JIT, pools, lazily created structures), then take the baseline
  await churn(port, 1000, 'warmup')
  await settled()
  await delay(3 * RATE_WINDOW_MS) // the warm-up's rate-limit windows end and the sweep prunes them
  collectGarbage()
  const baselineHeap = process.memoryUsage().heapUsed
  const serverListeners = listenerCounts(app.server)
  const wssListeners = listenerCounts(app.websocketServer)

  const started = Date.now()
  const done = await churn(port, CONNECTIONS, 'churn')
  const churnMs = Date.now() - started
  t.same(Object.values(done).reduce((a, b) => a + b, 0), CONNECTIONS, `every connection ran its course: ${JSON.stringify(done)}`)

  await settled()
  const stats = app.realtime.stats()
  t.equal(stats.connections, 0, 'no connection left')
  t.equal(stats.users, 0, 'no user left')
  t.same(stats.subscriptions, {}, 'no subscription left')
  t.equal(app.websocketServer.clients.size, 0, 'the ws server holds no client')
  t.equal(await openSockets(app), 0, 'no TCP socket left open on the server')
  t.ok(stats.connectionsOpened >= CONNECTIONS * 3 / 7, `${stats.connectionsOpened} connections were really opened`)
  t.same(listenerCounts(app.server), serverListeners, 'no listener piled up on the HTTP server')
  t.same(listenerCounts(app.websocketServer), wssListeners, 'no listener piled up on the ws server')

  // the per-user message rate limiter forgets users once their windows are over (pruned on the sweep tick).
  // Its size is not public API: this shows through the heap, which would keep one entry per user otherwise.
  await delay(3 * RATE_WINDOW_MS)
  collectGarbage()
  const growth = process.memoryUsage().heapUsed - baselineHeap
  t.comment(`churn of ${CONNECTIONS} in ${churnMs} ms; heap growth after GC ${(growth / 1024).toFixed(0)} KB (${(growth / CONNECTIONS).toFixed(0)} bytes per connection)`)
  // V8 settles a little above the warm-up baseline (rounds of 3,000 measured +1.4, +2.1, +2.3, +1.8 MB: a plateau,
  // not a slope); anything kept per closed connection, from 1 KB up (a request, a socket, a map entry
  // with its key), would add 3 MB or more here
  t.ok(growth < 2.5 * 1024 * 1024, `heap back near its baseline (+${(growth / 1024).toFixed(0)} KB after ${CONNECTIONS} connections)`)
  t.same(warnings.filter(w => w.name === 'MaxListenersExceededWarning').map(w => w.message), [], 'no MaxListenersExceededWarning')
  t.same(logged.filter(line => /"level":(50|60)/.test(line)), [], 'nothing logged as an error')
})
