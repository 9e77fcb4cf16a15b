import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import { createSigner } from 'fast-jwt'
import { RealtimeClient, type RealtimeClientError } from '../../lib/client/index.js'
import { countingWebSocket, freePort } from './support.js'

// A deploy as a crowd of clients lives it: 200 clients (the typed client with
// its DEFAULT reconnect policy) on the example server, which is SIGTERMed
// (they get 1001), stays down for a while, and comes back on the same port.
// All of them must be back within a few seconds of the server listening
// again, without flooding it on the way: every client's attempts are counted.

const CLIENTS = 200
/** How long the port stays closed between the old process's exit and the new one's start. */
const DOWNTIME_MS = 3000
/** Every client back this soon after the new server listens (the 0.1.0 defaults, 30 s cap, missed it). */
const ALL_BACK_WITHIN_MS = 10_000
/**
 * Connection attempts per client from the 1001 to being back: bounded, not a refused-flood. Over the ~4 s
 * the port is closed a client makes 4 or 5 (one per ~1 s at first, then per ~2.5 s); full jitter can draw
 * short delays, and about one crowd in a thousand has a client that reaches 10 (simulated), hence 12.
 */
const MAX_ATTEMPTS_PER_CLIENT = 12
const SECRET = 'restart-test-secret-long-enough-for-hs256'
const SERVER = join(__dirname, '..', '..', 'examples', 'dist', 'server.js')

interface ExampleProcess {
  child: ChildProcess
  /** performance.now() when it logged that it listens. */
  listeningAt: number
  /** HTTP requests it logged (upgrades and preflight GETs). */
  requests: () => number
}

/** Starts examples/dist/server.js on `port` and resolves once it listens. */
async function startExample (port: number): Promise<ExampleProcess> {
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'info',
      // 200 clients from one IP reconnect at once: today's per-IP handshake limit (60 a minute, counting
      // successful upgrades) would refuse them. Its default is being changed to count failed handshakes only
      // (issue 9, item 8); raised here so this test measures the client's reconnect policy, not that limit.
      REALTIME_HANDSHAKE_RATE_LIMIT_MAX: '100000'
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let requests = 0
  const listening = new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the example exited (${String(code)}) before listening`)))
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let entry: { msg?: unknown }
      try { entry = JSON.parse(line) as { msg?: unknown } } catch { return }
      if (entry.msg === 'incoming request') requests++
      if (typeof entry.msg === 'string' && entry.msg.startsWith('Server listening')) resolve(performance.now())
    })
  })
  const listeningAt = await listening
  return { child, listeningAt, requests: () => requests }
}

async function stop (example: ExampleProcess): Promise<void> {
  const { child } = example
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number
}

t.test(`${CLIENTS} clients with the default reconnect policy are all back within seconds of a restart`, async (t) => {
  const port = await freePort()
  let example = await startExample(port)
  t.teardown(() => stop(example))
  const sign = createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 3_600_000 })

  const crowd = Array.from({ length: CLIENTS }, (_, i) => {
    const sockets = countingWebSocket()
    const client = new RealtimeClient({ url: `ws://127.0.0.1:${port}/api/v1/ws`, token: sign({ sub: `user-${i}` }), WebSocket: sockets.WebSocket })
    const refusals: RealtimeClientError[] = []
    client.on('reconnect', ({ error }) => { if (error.statusCode !== undefined) refusals.push(error) })
    client.on('error', () => {})
    return { client, sockets, refusals }
  })
  t.teardown(() => { for (const { client } of crowd) client.close() })
  await Promise.all(crowd.map(({ client }) => client.connect()))
  t.equal(crowd.filter(({ client }) => client.state === 'open').length, CLIENTS, 'all connected')

  const attemptsBefore = crowd.map(({ sockets }) => sockets.count())
  // armed before the restart, so no open is missed
  const backAt = crowd.map(({ client }) => new Promise<number>((resolve, reject) => {
    client.once('open', () => resolve(performance.now()))
    client.on('state', (change) => { if (change.state === 'closed') reject(change.error) })
  }))
  backAt.forEach(p => p.catch(() => {}))

  // the deploy: SIGTERM (close-with-grace: every client gets 1001), the port stays closed, a new process
  const goneAway = crowd.map(({ client }) => new Promise<number>(resolve => client.once('close', ({ code }) => resolve(code))))
  await stop(example)
  t.same([...new Set(await Promise.all(goneAway))], [1001], 'every client was told the server is going away')
  // deploy downtime: the port stays closed this long (a timer is what is being simulated here)
  await delay(DOWNTIME_MS)
  example = await startExample(port)
  const restartedAt = example.listeningAt

  const backAfterMs = (await Promise.all(backAt)).map(at => Math.max(0, at - restartedAt)).sort((a, b) => a - b)
  const attempts = crowd.map(({ sockets }, i) => sockets.count() - (attemptsBefore[i] as number))
  const sortedAttempts = [...attempts].sort((a, b) => a - b)
  t.comment(`back after the restart (ms): first ${Math.round(backAfterMs[0] as number)}, median ${Math.round(percentile(backAfterMs, 0.5))}, ` +
    `p95 ${Math.round(percentile(backAfterMs, 0.95))}, last ${Math.round(backAfterMs.at(-1) as number)}`)
  t.comment(`attempts per client from the 1001 to back: median ${percentile(sortedAttempts, 0.5)}, max ${sortedAttempts.at(-1) as number}; ` +
    `requests the new server received: ${example.requests()}`)

  t.ok((backAfterMs.at(-1) as number) <= ALL_BACK_WITHIN_MS, `all ${CLIENTS} back within ${ALL_BACK_WITHIN_MS} ms of the restart`)
  t.ok((sortedAttempts.at(-1) as number) < MAX_ATTEMPTS_PER_CLIENT, `every client made fewer than ${MAX_ATTEMPTS_PER_CLIENT} attempts`)
  t.same(crowd.flatMap(({ refusals }) => refusals.filter(e => e.statusCode === 429).map(e => e.message)), [], 'no handshake refused with 429')
  // one upgrade per client reaches the new server, plus at most a few that raced its start
  t.ok(example.requests() <= 2 * CLIENTS, `the new server got ${example.requests()} requests for ${CLIENTS} clients`)
})
