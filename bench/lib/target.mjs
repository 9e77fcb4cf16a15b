// What every target script shares: the ready line and the control commands.
import { serveControl, baseCommands, reply, now, payload } from './common.mjs'

/**
 * @param {{ port: number, broadcast: (event: string, data: object) => number | Promise<number>, stats: () => object }} target
 */
export function runTarget (name, target) {
  const extra = target.scrape === undefined ? {} : { scrape: target.scrape }
  serveControl(baseCommands({
    ...extra,
    stats: () => target.stats(),
    broadcast: async ({ seq, bytes, event }) => {
      const data = { message: payload(seq, bytes), level: 'info', timestamp: new Date().toISOString() }
      const sendAt = now()
      const reached = await target.broadcast(event, data)
      return { sendAt, doneAt: now(), reached }
    }
  }))
  reply({ ready: true, target: name, port: target.port, pid: process.pid })
}

export const HOST = '127.0.0.1'
export function portFromEnv () {
  return Number(process.env.PORT ?? process.argv[2] ?? 0)
}
