import { randomUUID } from 'node:crypto'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { redisAdapter, type RedisAdapter, type RedisAdapterOptions, type RedisAdapterStatus, type RealtimeOptions } from '../../lib/index.js'
import { startServer, type TestServer } from '../helpers/server.js'
import type { Teardown, Plannable } from '../helpers/teardown.js'
import { eventually } from '../helpers/wait.js'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Whether a Redis answers PING at `url` within a second. */
export async function isRedisReachable (url: string = REDIS_URL): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  try {
    await client.connect()
    return await client.ping() === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/**
 * Call at the top of every Redis test file: false (and the file is skipped
 * with one line saying why) when Redis does not answer, except under CI,
 * where the tests must run. Synchronous, so a CommonJS test file can decide
 * before it declares its tests.
 */
export function requireRedis (t: Plannable): boolean {
  if (isRedisReachableSync()) return true
  if (process.env.CI === 'true') throw new Error(`Redis not reachable at ${REDIS_URL} (CI=true: the Redis tests must run)`)
  t.plan(0, `Redis not reachable at ${REDIS_URL}: skipping Redis tests (set REDIS_URL or start redis-server)`)
  return false
}

/** The outage tests start their own redis-server: the same rule when its binary is missing. */
export function requireRedisServerBinary (t: Plannable): boolean {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0) return true
  if (process.env.CI === 'true') throw new Error('redis-server not found on PATH (CI=true: the Redis outage tests must run)')
  t.plan(0, 'redis-server not found on PATH: skipping the Redis outage tests, which stop and restart a private Redis')
  return false
}

/** PING in a child process, so the answer is known before any test is declared. */
export function isRedisReachableSync (url: string = REDIS_URL): boolean {
  const probe = `
    const { Redis } = require('ioredis')
    const client = new Redis(process.argv[1], { lazyConnect: true, connectTimeout: 1000, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    client.on('error', () => {})
    client.connect().then(() => client.ping()).then(
      (pong) => { client.disconnect(); process.exit(pong === 'PONG' ? 0 : 1) },
      () => { client.disconnect(); process.exit(1) })`
  const result = spawnSync(process.execPath, ['-e', probe, url], { stdio: 'ignore', timeout: 5000 })
  return result.status === 0
}

/** A key prefix no other test uses; its keys are deleted in teardown. */
export function uniquePrefix (t: Teardown, url: string = REDIS_URL): string {
  const prefix = `rt-test:${randomUUID().slice(0, 8)}`
  t.teardown(() => deleteKeys(url, prefix))
  return prefix
}

/** Resolves once the node's adapter reports `wanted` (now or at a later 'status' event); rejects after `timeoutMs`. */
export async function adapterStatus (node: { adapter: RedisAdapter }, wanted: RedisAdapterStatus, timeoutMs = 10000): Promise<void> {
  while (node.adapter.status !== wanted) await once(node.adapter, 'status', { signal: AbortSignal.timeout(timeoutMs) })
}

export async function deleteKeys (url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  try {
    await client.connect()
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await client.del(...keys)
    } while (cursor !== '0')
  } catch {
    // a Redis stopped by the test has nothing left to clean
  } finally {
    client.disconnect()
  }
}

/** A host's own ioredis client, quit in teardown. */
export async function hostClient (t: Teardown, url: string = REDIS_URL): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true })
  client.on('error', () => {})
  await client.connect()
  t.teardown(() => client.disconnect())
  return client
}

export interface ClusterNode extends TestServer {
  adapter: RedisAdapter
}

export interface NodeOptions {
  prefix: string
  url?: string
  adapter?: Omit<RedisAdapterOptions, 'keyPrefix'>
  realtime?: RealtimeOptions
}

/** One node of a cluster: a real server on port 0 with a Redis adapter under `prefix`. */
export async function startNode (t: Teardown, options: NodeOptions): Promise<ClusterNode> {
  const adapterOptions: RedisAdapterOptions = { keyPrefix: options.prefix, ...options.adapter }
  if (adapterOptions.client === undefined) adapterOptions.url = options.url ?? REDIS_URL
  const adapter = redisAdapter(adapterOptions)
  const server = await startServer(t, { realtime: { ...options.realtime, adapter } })
  return { ...server, adapter }
}

export { eventually }

/** Resolves when a log line matching `pattern` has been written (already or later). */
export async function logged (server: TestServer, pattern: RegExp, timeoutMs = 5000): Promise<string> {
  let found: string | undefined
  await eventually(() => {
    found = server.logs.find(line => pattern.test(line))
    return found !== undefined
  }, `a log line matching ${String(pattern)}`, timeoutMs)
  return found as string
}

export function countLogs (server: TestServer, pattern: RegExp): number {
  return server.logs.filter(line => pattern.test(line)).length
}

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  server.close()
  await once(server, 'close')
  return port
}

/** A private redis-server on its own port, that a test may stop and start again without touching the shared one. */
export interface PrivateRedis {
  port: number
  url: string
  /** The running server's process id (to SIGSTOP it, say). */
  readonly pid: number
  start (): Promise<void>
  /** SIGKILL: the abrupt end a crash or a network cut looks like. */
  kill (): Promise<void>
}

export async function startPrivateRedis (t: Teardown): Promise<PrivateRedis> {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  const redis: PrivateRedis = {
    port,
    url,
    get pid () {
      if (child?.pid === undefined) throw new Error('redis-server is not running')
      return child.pid
    },
    async start () {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
      const spawned = child
      await eventually(async () => {
        if (spawned.exitCode !== null) throw new Error(`redis-server exited with ${spawned.exitCode}`)
        return isRedisReachable(url)
      }, `redis-server on port ${port}`)
    },
    async kill () {
      const running = child
      child = undefined
      if (running === undefined || running.exitCode !== null) return
      const exited = once(running, 'exit')
      running.kill('SIGKILL')
      await exited
    }
  }
  t.teardown(() => redis.kill())
  await redis.start()
  return redis
}
