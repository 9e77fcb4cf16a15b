// The child's side of a server forked by a test (a node killed for real, a
// fuzz target that may crash): what every fixture in test/*/fixtures/ does
// once its app is built. Not a test, and a fixture is not one either.
import type { FastifyInstance } from 'fastify'

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
