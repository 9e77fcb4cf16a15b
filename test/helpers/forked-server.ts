// Both sides of a server forked by a test (a node killed for real, a fuzz
// target that may crash): forkServer in the test, listenForParent and
// runWhenForked in the fixture (test/*/fixtures/). Not a test, and a fixture
// is not one either.
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import type { Teardown } from './teardown.js'

/**
 * Listens on 127.0.0.1 and a free port, tells the parent `report(port)` over
 * IPC (`{ port }` by default), and closes the app and exits when the parent
 * goes away.
 */
export async function listenForParent (app: FastifyInstance, report: (port: number) => Record<string, unknown> = (port) => ({ port })): Promise<void> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  process.send?.(report(port))
  process.on('disconnect', () => { void app.close().then(() => process.exit(0)) })
}

/**
 * Runs `main` in the forked child (its environment has `flag`=1); a tap run
 * over the fixture's folder reaches the file too, and is told it is no test.
 */
export function runWhenForked (flag: string, forkedBy: string, main: () => Promise<void>): void {
  if (process.env[flag] === '1') {
    main().catch((err: unknown) => {
      console.error(err)
      process.exit(1)
    })
  } else {
    console.log(`1..0 # a fixture forked by ${forkedBy}, not a test`)
  }
}

/** A forked server, as the test sees it. */
export interface ForkedServer<R> {
  child: ChildProcess
  /** Its first IPC message (what listenForParent reported). */
  ready: R
  /** Rejects when the process exits (with the end of its stderr, when piped); never resolves. */
  exited: Promise<never>
  isAlive (): boolean
}

/**
 * Forks the fixture `file` with `flag`=1 and `env` in its environment (the
 * TypeScript loader comes with the inherited execArgv), SIGKILLed in
 * teardown if still running; resolves once it reported, rejects if it exits
 * first. `stderr: 'pipe'` keeps the end of its stderr for that error.
 */
export async function forkServer<R extends { port: number }> (t: Teardown, file: string, flag: string, env: Record<string, string> = {}, { stderr = 'inherit' }: { stderr?: 'inherit' | 'pipe' } = {}): Promise<ForkedServer<R>> {
  const child = fork(file, { env: { ...process.env, [flag]: '1', ...env }, stdio: ['ignore', 'ignore', stderr, 'ipc'] })
  const isAlive = (): boolean => child.exitCode === null && child.signalCode === null
  t.teardown(() => { if (isAlive()) child.kill('SIGKILL') })
  let lastWords = ''
  child.stderr?.on('data', (chunk: Buffer) => { lastWords = (lastWords + chunk.toString()).slice(-3000) })
  const exited = new Promise<never>((_resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the server process exited (${signal ?? `code ${String(code)}`})${lastWords === '' ? '' : `: ${lastWords.trim()}`}`)))
  })
  exited.catch(() => {})
  const [ready] = await Promise.race([once(child, 'message') as Promise<[R]>, exited])
  return { child, ready, exited, isAlive }
}
