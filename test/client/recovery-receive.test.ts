// Recovery.receive alone: the decisions a message's offsets lead to, with the client's actions recorded.
import t from 'tap'
import { Recovery, type StreamGap, type StreamRecovered } from '../../lib/client/recovery.js'
import type { ServerEnvelope } from '../../lib/client/index.js'

function recovery (positions: ConstructorParameters<typeof Recovery>[0]['positions'] = {}) {
  const done = { resubscribed: [] as string[], reconnects: 0, recovered: [] as StreamRecovered[], gaps: [] as StreamGap[] }
  const subject = new Recovery({
    positions,
    now: () => 0,
    actions: {
      resubscribe: (channel) => { done.resubscribed.push(channel) },
      reconnect: () => { done.reconnects++; return false },
      recovered: (event) => { done.recovered.push(event) },
      gap: (event) => { done.gaps.push(event) }
    }
  })
  return { subject, done }
}

const envelope = (fields: Partial<ServerEnvelope> & Record<string, unknown>): ServerEnvelope =>
  ({ type: 'tick', data: {}, timestamp: '', id: `id-${Math.random()}`, ...fields })

t.test('delivered ids are remembered up to 2048: the oldest is forgotten first', async (t) => {
  const { subject } = recovery({ inbox: { epoch: 'E', offset: 0 } })
  for (let n = 1; n <= 2049; n++) t.equal(subject.receive(envelope({ id: `m${n}`, inbox: true, offset: n })), true)
  t.equal(subject.receive(envelope({ id: 'm2049', channel: 'lobby:1', offset: 1 })), false, 'a recent id, even in another form')
  t.equal(subject.receive(envelope({ id: 'm1', channel: 'lobby:1', offset: 2 })), true, 'the first id is forgotten')
})

t.test('an inbox that cannot reconnect, and a channel with no epoch: the hole is a gap event, the message delivered', async (t) => {
  const { subject, done } = recovery({ inbox: { epoch: 'E', offset: 1 } })
  t.equal(subject.receive(envelope({ inbox: true, offset: 3 })), true)
  t.equal(done.reconnects, 1, 'it tried')
  t.equal(subject.receive(envelope({ channel: 'review:1', offset: 7 })), true, 'a first offset, no epoch yet')
  t.equal(subject.receive(envelope({ channel: 'review:1', offset: 9 })), true)
  t.same(done.gaps, [{ stream: 'inbox', reason: 'gap' }, { stream: 'review:1', reason: 'gap' }])
  t.same(done.resubscribed, [], 'nothing to ask a channel with no epoch')
  t.same(subject.positions, { inbox: { epoch: 'E', offset: 3 } })
})

t.test('the inbox form may carry inbox_offset; malformed server data is ignored, never thrown on', async (t) => {
  const { subject, done } = recovery({ inbox: { epoch: 'E', offset: 4 } })
  t.equal(subject.receive(envelope({ inbox: true, offset: 99, inbox_offset: 5 })), true)
  t.equal(subject.receive(envelope({ inbox: true, offset: 'x' as unknown as number })), true, 'no offset to judge by: delivered as without history')
  t.equal(subject.receive(envelope({ type: 'subscription.confirmed', data: { positions: ['review:1'] } })), true)
  t.equal(subject.receive(envelope({ type: 'unsubscription.confirmed', data: { channels: 'review:1' } })), true)
  t.equal(subject.receive(envelope({ type: 'recovery.result', data: null })), true)
  t.equal(subject.receive(envelope({ type: 'subscription.ended', data: {} })), true)
  subject.abandon(['never-asked'])
  t.same(subject.positions, { inbox: { epoch: 'E', offset: 5 } })
  t.same(done.gaps, [])
})
