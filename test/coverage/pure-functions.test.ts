import t from 'tap'
import { resolveOptions } from '../../lib/index.js'
import { failureCloseCode } from '../../lib/socket-listeners.js'
import { channelOfScope } from '../../lib/presence/channel-presence.js'
import { Replies } from '../../lib/replies.js'
import { Counters } from '../../lib/stats.js'
import type { Delivery } from '../../lib/delivery.js'
import type { Connection } from '../../lib/connection.js'

// Pure functions whose rarer branches the socket tests do not reach on every run.

t.test('resolveOptions(undefined): no options at all are the defaults, as {} is', async (t) => {
  const options = resolveOptions(undefined)
  t.match(options, { path: '/ws', maxConnectionsPerUser: 3, heartbeatIntervalMs: 30000 })
  t.same(options, resolveOptions({}))
})

t.test('failureCloseCode: 1002 when ws left no status-code symbol, or one that is not a number', async (t) => {
  t.equal(failureCloseCode(new Error('no symbol')), 1002)
  const withString = Object.assign(new Error('string code'), { [Symbol('status-code')]: '1009' })
  t.equal(failureCloseCode(withString), 1002)
  const withNumber = Object.assign(new Error('number code'), { [Symbol('status-code')]: 1009 })
  t.equal(failureCloseCode(withNumber), 1009, 'the number ws kept')
})

t.test('channelOfScope: a channel scope names its channel; any other scope (a user\'s) names none', async (t) => {
  t.equal(channelOfScope('channel:review:42'), 'review:42')
  t.equal(channelOfScope('users'), undefined)
})

t.test('Replies.replyTo: a reply whose encoding fails with an uncoded error is answered HANDLER_ERROR "(error)" and logged', async (t) => {
  const sent: string[] = []
  const errors: Array<{ message: string }> = []
  const delivery = {
    encodeText (type: string, data: unknown): string {
      if (type === 'some.reply') throw new Error('an encoder bug, no code')
      return JSON.stringify({ type, data })
    },
    sendToOne (_connection: unknown, text: string): number { sent.push(text); return 1 }
  }
  const connection = { log: { error: (_fields: unknown, message: string) => { errors.push({ message }) } } }
  const counters = new Counters()
  const replies = new Replies(delivery as unknown as Delivery, counters, 65536)
  replies.replyTo(connection as unknown as Connection, 'some.reply', { n: 1 }, 'r1')
  t.same(errors, [{ message: 'reply not sent' }])
  t.equal(sent.length, 1, 'one error frame instead')
  t.match(JSON.parse(sent[0] as string), { type: 'error', data: { code: 'HANDLER_ERROR', message: 'Could not send the some.reply reply (error)', request_id: 'r1' } })
  t.equal(counters.errors, 1)
})
