import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { openSocket, type TestClient } from '../helpers/client.js'
import { signToken } from '../helpers/server.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface ClusterFixture {
  readonly child: ChildProcess
  readonly port: number
  /** node:cluster worker ids and their PIDs. */
  readonly workers: Array<{ id: number, pid: number }>
  command<T = unknown> (cmd: string, fields?: { worker?: number, op?: string, args?: unknown[] }): Promise<T>
  /** app.realtime[op](...args) on one worker. */
  run<T = unknown> (worker: number, op: string, ...args: unknown[]): Promise<T>
  /** A client of `userId` that the primary handed to `worker` (connects until one lands there). */
  connectOn (worker: number, userId: string): Promise<TestClient>
  connect (userId: string): Promise<TestClient>
}

/**
 * Forks test/fixtures/cluster-app.ts (a node:cluster primary with its
 * workers; the TypeScript loader comes with the inherited execArgv) and
 * tears it down by PID: the workers, then the primary.
 */
export async function startCluster (t: Teardown, env: Record<string, string>): Promise<ClusterFixture> {
  const child = fork(path.join(__dirname, '..', 'fixtures', 'cluster-app.ts'), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const clients: TestClient[] = []
  let workers: Array<{ id: number, pid: number }> = []
  t.teardown(async () => {
    await Promise.all(clients.map(client => client.close()))
    for (const worker of workers) {
      try { process.kill(worker.pid, 'SIGKILL') } catch {}
    }
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
  })
  const [ready] = await Promise.race([
    once(child, 'message') as Promise<[{ port: number, workers: Array<{ id: number, pid: number }> }]>,
    once(child, 'exit').then(([code]) => { throw new Error(`cluster primary exited with ${String(code)}`) })
  ])
  workers = ready.workers
  let nextId = 0
  const waiting = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()
  child.on('message', (message: { id?: number, value?: unknown, error?: string }) => {
    if (typeof message.id !== 'number') return
    const waiter = waiting.get(message.id)
    waiting.delete(message.id)
    if (message.error !== undefined) waiter?.reject(new Error(message.error))
    else waiter?.resolve(message.value)
  })
  const command = <T>(cmd: string, fields: { worker?: number, op?: string, args?: unknown[] } = {}): Promise<T> => new Promise<T>((resolve, reject) => {
    const id = ++nextId
    waiting.set(id, { resolve: resolve as (value: unknown) => void, reject })
    child.send({ id, cmd, ...fields })
  })
  const connect = async (userId: string): Promise<TestClient> => {
    const client = await openSocket(`ws://127.0.0.1:${ready.port}/ws/${signToken({ sub: userId })}`)
    clients.push(client)
    await client.next('connection.established')
    return client
  }
  const fixture: ClusterFixture = {
    child,
    port: ready.port,
    workers,
    command,
    run: (worker, op, ...args) => command('run', { worker, op, args }),
    connect,
    async connectOn (worker, userId) {
      // the primary hands connections round-robin: one of a few lands on each worker
      const extra: TestClient[] = []
      try {
        for (let i = 0, refused = 0; i < 8;) {
          // a miss closed just before frees its slot a moment later: a 429 then is retried
          const client = await connect(userId).catch((err: { statusCode?: number }) => {
            if (err.statusCode !== 429 || ++refused > 100) throw err
            return undefined
          })
          if (client === undefined) {
            await new Promise(resolve => setTimeout(resolve, 10))
            continue
          }
          i++
          if (await command('where', { args: [client.connectionId] }) === worker) return client
          extra.push(client)
          // a user's limit may be reached by the misses: give their slots back first
          await client.close()
        }
      } finally {
        await Promise.all(extra.map(client => client.close()))
      }
      throw new Error(`no connection landed on worker ${worker}`)
    }
  }
  return fixture
}
