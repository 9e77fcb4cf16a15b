// What every target script shares: the ready line and the control commands.
import { serveControl, baseCommands, reply, now, payload } from './common.mjs'
import { channelName, CHANNEL_MESSAGE_TYPE } from './channel-plan.mjs'

/** Publishes handed to a target before it yields to its event loop (so sockets drain while a pass runs). */
const PUBLISHES_PER_TURN = 500

/**
 * @param {{
 *   port: number,
 *   broadcast: (event: string, data: object) => number | Promise<number>,
 *   publish?: (channel: string, type: string, data: object) => number | Promise<number>,
 *   stats: () => object
 * }} target
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
    },
    /**
     * One message to each of `channels` channels, as fast as the target
     * takes them; message `firstSeq + c` goes to channel c. Answers each
     * publish's send time (stamped right before its call).
     */
    publishChannels: async ({ channels, firstSeq, bytes }) => {
      if (target.publish === undefined) throw new Error(`${name} has no channels`)
      const sendAt = new Array(channels)
      const calls = []
      const startAt = now()
      for (let c = 0; c < channels; c++) {
        const data = { message: payload(firstSeq + c, bytes), level: 'info' }
        sendAt[c] = now()
        calls.push(target.publish(channelName(c), CHANNEL_MESSAGE_TYPE, data))
        if ((c + 1) % PUBLISHES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      const reached = (await Promise.all(calls)).reduce((s, n) => s + n, 0)
      return { sendAt, startAt, doneAt: now(), reached }
    }
  }))
  reply({ ready: true, target: name, port: target.port, pid: process.pid })
}

export const HOST = '127.0.0.1'
export function portFromEnv () {
  return Number(process.env.PORT ?? process.argv[2] ?? 0)
}
