// The client's recovery rules against a scripted server (test/client/fake-server.ts):
// holes, duplicates and malformed answers the real plugin does not send on demand.
import t from 'tap'
import type { RealtimeClient, ServerEnvelope } from '../../lib/client/index.js'
import { startFakeServer, type FakeConnection } from './fake-server.js'
import { createClient, FakeClock, next, record } from './support.js'

const E = 'epochE'

/** Confirms a subscribe the client sent, with positions for its channels. */
async function confirm (connection: FakeConnection, positions: Record<string, { epoch: string, offset: number }>): Promise<Record<string, unknown>> {
  const subscribe = await connection.next()
  const channels = subscribe.data.channels as string[]
  connection.send('subscription.confirmed', {
    events: [], channels, subscriptions: [], channel_subscriptions: channels, request_id: subscribe.id, positions
  })
  return subscribe.data
}

const note = (connection: FakeConnection, n: number, where: Record<string, unknown>): void => connection.send('note', { n }, where)

/** The n of every `note` the app is given. */
function notes (client: RealtimeClient): number[] {
  const seen: number[] = []
  client.on('message', (message: ServerEnvelope) => { if (message.type === 'note') seen.push((message.data as { n: number }).n) })
  return seen
}

/** Resolves once the app has been given the note n. */
const noteArrives = (client: RealtimeClient, n: number) =>
  next(client, 'message', (message) => message.type === 'note' && (message.data as { n: number }).n === n)

t.test('inbox: duplicates dropped; after a drop the handshake carries inbox=<epoch>:<offset>, the replay fills in, then recovered', async (t) => {
  for (const auth of ['subprotocol', 'path'] as const) {
    const server = await startFakeServer(t)
    const client = createClient(t, { url: server.url, token: 'tok', auth, fetch: false })
    const seen = notes(client)
    client.connect()
    const first = await server.nextConnection()
    t.notMatch(first.url, /inbox=/, `${auth}: no position yet, no parameter`)
    first.establish({ epoch: E, offset: 5 })
    await client.waitForOpen()
    note(first, 6, { inbox: true, offset: 6 })
    note(first, 6, { inbox: true, offset: 6 })
    note(first, 4, { inbox: true, offset: 4 })
    note(first, 7, { inbox: true, offset: 7 })
    await noteArrives(client, 7)
    t.same(client.positions, { inbox: { epoch: E, offset: 7 } })

    first.socket.terminate()
    const second = await server.nextConnection()
    t.match(second.url, auth === 'path' ? /^\/ws\/tok\?inbox=epochE:7$/ : /^\/ws\?inbox=epochE:7$/, `${auth}: the position rides in the URL`)
    const recovered = next(client, 'recovered')
    second.establish({ epoch: E, offset: 9 })
    note(second, 10, { inbox: true, offset: 10 }) // a live message ahead of the replay is dropped: the replay brings it in order
    for (const n of [8, 9, 10]) note(second, n, { inbox: true, offset: n })
    second.send('recovery.result', { streams: { inbox: { recovered: true, missed: 3 } } })
    t.same((await recovered)[0], { stream: 'inbox', missed: 3 })
    t.same(seen, [6, 7, 8, 9, 10], `${auth}: each once, in order`)
    client.close()
  }
})

t.test('channel: a jump in offsets is not delivered; the client subscribes again with recover and gets the hole filled in order', async (t) => {
  const server = await startFakeServer(t)
  const client = createClient(t, { url: server.url, token: 'tok', fetch: false })
  const seen = notes(client)
  client.connect()
  const connection = await server.nextConnection()
  connection.establish()
  const subscribed = client.subscribe({ channels: ['review:1'] })
  t.same(await confirm(connection, { 'review:1': { epoch: E, offset: 0 } }), { channels: ['review:1'] }, 'a first subscribe has nothing to recover')
  await subscribed
  note(connection, 1, { channel: 'review:1', offset: 1 })
  note(connection, 2, { channel: 'review:1', offset: 2 })
  note(connection, 4, { channel: 'review:1', offset: 4 })
  t.same(await confirm(connection, { 'review:1': { epoch: E, offset: 4 } }), { channels: ['review:1'], recover: { 'review:1': { epoch: E, offset: 2 } } },
    'the gap asks again from the last offset in order')
  note(connection, 5, { channel: 'review:1', offset: 5 })
  const recovered = next(client, 'recovered')
  for (const n of [3, 4, 5]) note(connection, n, { channel: 'review:1', offset: n })
  connection.send('recovery.result', { streams: { 'review:1': { recovered: true, missed: 3 } } })
  t.same((await recovered)[0], { stream: 'review:1', missed: 3 })
  t.same(seen, [1, 2, 3, 4, 5])
  t.same(client.positions, { 'review:1': { epoch: E, offset: 5 } })
})

t.test('a reconnect re-subscribes with recover; a failed recovery is a gap event with its reason, and the stream resumes at the position given', async (t) => {
  const server = await startFakeServer(t)
  const client = createClient(t, { url: server.url, token: 'tok', fetch: false, channels: ['review:1', 'lobby:1'] })
  const seen = notes(client)
  client.connect()
  const first = await server.nextConnection()
  first.establish()
  await confirm(first, { 'review:1': { epoch: E, offset: 10 }, 'lobby:1': { epoch: E, offset: 3 } })
  note(first, 11, { channel: 'review:1', offset: 11 })
  await noteArrives(client, 11)
  first.socket.terminate()

  const second = await server.nextConnection()
  second.establish()
  t.same(await confirm(second, { 'review:1': { epoch: E, offset: 400 }, 'lobby:1': { epoch: 'F', offset: 1 } }), {
    channels: ['review:1', 'lobby:1'], recover: { 'review:1': { epoch: E, offset: 11 }, 'lobby:1': { epoch: E, offset: 3 } }
  })
  const gaps = record(client, 'gap')
  second.send('recovery.result', {
    streams: { 'review:1': { recovered: false, reason: 'too_many', position: { epoch: E, offset: 401 } }, 'lobby:1': { recovered: false, reason: 'epoch_changed' } }
  })
  t.same((await gaps.next())[0], { stream: 'review:1', reason: 'too_many' })
  t.same((await gaps.next())[0], { stream: 'lobby:1', reason: 'epoch_changed' })
  note(second, 402, { channel: 'review:1', offset: 402 })
  note(second, 2, { channel: 'lobby:1', offset: 2 })
  await noteArrives(client, 2)
  t.same(seen, [11, 402, 2], 'each stream goes on from where the server said it is')
})

t.test('the position advances before listeners run: a throwing listener gets the error event, the message is not delivered again', async (t) => {
  const server = await startFakeServer(t)
  const client = createClient(t, { url: server.url, token: 'tok', fetch: false })
  const seen = notes(client)
  client.on('note' as never, () => { throw new Error('app bug') })
  const errors = record(client, 'error')
  client.connect()
  const first = await server.nextConnection()
  first.establish({ epoch: E, offset: 0 })
  await client.waitForOpen()
  note(first, 1, { inbox: true, offset: 1 })
  t.match((await errors.next())[0], { code: 'LISTENER_FAILED' })
  t.same(client.positions, { inbox: { epoch: E, offset: 1 } })
  first.socket.terminate()
  const second = await server.nextConnection()
  t.match(second.url, /inbox=epochE:1$/)
  second.establish({ epoch: E, offset: 1 })
  second.send('recovery.result', { streams: { inbox: { recovered: true, missed: 0 } } })
  note(second, 1, { inbox: true, offset: 1 })
  note(second, 2, { inbox: true, offset: 2 })
  await noteArrives(client, 2)
  t.same(seen, [1, 2])
})

t.test('an inbox gap reconnects at once to recover; a second one soon after is a gap event and the message is delivered', async (t) => {
  const server = await startFakeServer(t)
  const clock = new FakeClock()
  const client = createClient(t, { url: server.url, token: 'tok', fetch: false, clock })
  const seen = notes(client)
  client.connect()
  const first = await server.nextConnection()
  first.establish({ epoch: E, offset: 0 })
  await client.waitForOpen()
  note(first, 1, { inbox: true, offset: 1 })
  const closed = next(client, 'close')
  note(first, 3, { inbox: true, offset: 3 })
  t.match((await closed)[0], { code: 1000, willReconnect: true })
  clock.advance(0)
  const second = await server.nextConnection()
  t.match(second.url, /inbox=epochE:1$/)
  second.establish({ epoch: E, offset: 3 })
  note(second, 2, { inbox: true, offset: 2 })
  note(second, 3, { inbox: true, offset: 3 })
  second.send('recovery.result', { streams: { inbox: { recovered: true, missed: 2 } } })
  await next(client, 'recovered')

  const gap = next(client, 'gap')
  note(second, 6, { inbox: true, offset: 6 })
  t.same((await gap)[0], { stream: 'inbox', reason: 'gap' })
  t.same(seen, [1, 2, 3, 6])
  t.equal(client.state, 'open', 'no second reconnect within INBOX_GAP_RECONNECT_INTERVAL_MS')
})

t.test('a message both in a channel and in the inbox comes once, whichever stream replays it', async (t) => {
  const server = await startFakeServer(t)
  const client = createClient(t, { url: server.url, token: 'tok', fetch: false, channels: ['review:1'] })
  const seen = notes(client)
  client.connect()
  const first = await server.nextConnection()
  first.establish({ epoch: 'I', offset: 0 })
  await confirm(first, { 'review:1': { epoch: E, offset: 0 } })
  note(first, 1, { channel: 'review:1', offset: 1, inbox_offset: 1 })
  await noteArrives(client, 1)
  first.socket.terminate()
  const second = await server.nextConnection()
  second.establish({ epoch: 'I', offset: 2 })
  // the inbox replays its message 2 (also review:1's offset 2, in its inbox form), then the channel replays it too
  note(second, 2, { inbox: true, offset: 2 })
  second.send('recovery.result', { streams: { inbox: { recovered: true, missed: 1 } } })
  await confirm(second, { 'review:1': { epoch: E, offset: 2 } })
  note(second, 2, { channel: 'review:1', offset: 2, inbox_offset: 2 })
  second.send('recovery.result', { streams: { 'review:1': { recovered: true, missed: 1 } } })
  note(second, 3, { channel: 'review:1', offset: 3, inbox_offset: 3 })
  await noteArrives(client, 3)
  t.same(seen, [1, 2, 3])
  t.same(client.positions, { inbox: { epoch: 'I', offset: 3 }, 'review:1': { epoch: E, offset: 3 } })
})

t.test('positions given as an option are recovered from on the first connection; unsubscribing forgets a channel\'s', async (t) => {
  const server = await startFakeServer(t)
  const client = createClient(t, {
    url: server.url, token: 'tok', fetch: false,
    positions: { inbox: { epoch: E, offset: 41 }, 'review:7': { epoch: E, offset: 9 } }
  })
  client.connect()
  const connection = await server.nextConnection()
  t.match(connection.url, /\?inbox=epochE:41$/)
  connection.establish({ epoch: E, offset: 41 })
  connection.send('recovery.result', { streams: { inbox: { recovered: true, missed: 0 } } })
  const subscribed = client.subscribe({ channels: ['review:7'] })
  t.same(await confirm(connection, { 'review:7': { epoch: E, offset: 9 } }), { channels: ['review:7'], recover: { 'review:7': { epoch: E, offset: 9 } } })
  await subscribed
  const unsubscribed = client.unsubscribe({ channels: ['review:7'] })
  const unsubscribe = await connection.next()
  t.same(unsubscribe.data, { channels: ['review:7'] }, 'an unsubscribe carries no positions')
  connection.send('unsubscription.confirmed', { events: [], channels: ['review:7'], subscriptions: [], channel_subscriptions: [], request_id: unsubscribe.id })
  await unsubscribed
  t.same(client.positions, { inbox: { epoch: E, offset: 41 } })

  client.close()
  client.connect()
  t.match((await server.nextConnection()).url, /\?inbox=epochE:41$/, 'positions survive close(): connect() recovers from them')
})

t.test('a malformed recovery.result entry counts as not recovered', async (t) => {
  const server = await startFakeServer(t)
  const client = createClient(t, { url: server.url, token: 'tok', fetch: false, positions: { inbox: { epoch: E, offset: 1 } } })
  client.connect()
  const connection = await server.nextConnection()
  connection.establish({ epoch: E, offset: 1 })
  const gaps = record(client, 'gap')
  connection.send('recovery.result', { streams: { inbox: { recovered: 'yes' }, 'lobby:1': null, 'lobby:2': { recovered: false, reason: 'tomorrow' } } })
  t.same((await gaps.next())[0], { stream: 'inbox', reason: 'gap' })
  t.same((await gaps.next())[0], { stream: 'lobby:1', reason: 'gap' })
  t.same((await gaps.next())[0], { stream: 'lobby:2', reason: 'gap' })
})

t.test('a channel the server joined: offsets without an epoch; at the next confirmation a top past them is reported as a gap', async (t) => {
  const server = await startFakeServer(t)
  const client = createClient(t, { url: server.url, token: 'tok', fetch: false })
  const seen = notes(client)
  client.connect()
  const first = await server.nextConnection()
  first.establish()
  await client.waitForOpen()
  first.send('subscription.joined', { channel: 'review:5' })
  first.send('subscription.joined', { channel: 'review:6', position: { epoch: E, offset: 30 } })
  note(first, 8, { channel: 'review:5', offset: 8 })
  note(first, 31, { channel: 'review:6', offset: 31 })
  await noteArrives(client, 31)
  t.same(client.positions, { 'review:6': { epoch: E, offset: 31 } }, 'no epoch, no position to recover from')
  first.socket.terminate()

  const second = await server.nextConnection()
  second.establish()
  const gap = next(client, 'gap')
  const restore = await confirm(second, { 'review:5': { epoch: E, offset: 11 }, 'review:6': { epoch: E, offset: 31 } })
  t.same(restore.recover, { 'review:6': { epoch: E, offset: 31 } })
  t.same((await gap)[0], { stream: 'review:5', reason: 'gap' }, '9 to 11 were missed and cannot be asked for')
  note(second, 12, { channel: 'review:5', offset: 12 })
  await noteArrives(client, 12)
  second.send('subscription.ended', { channel: 'review:5', reason: 'revoked' })
  second.send('recovery.result', { streams: { 'review:6': { recovered: true, missed: 0 } } })
  await next(client, 'recovered')
  t.same(client.positions, { 'review:6': { epoch: E, offset: 31 } }, 'an ended channel is forgotten')
  t.same(seen, [8, 31, 12])
})

t.test('the same message in its two forms (channel, then inbox replay) is delivered once, by id', async (t) => {
  const server = await startFakeServer(t)
  const client = createClient(t, { url: server.url, token: 'tok', fetch: false, positions: { inbox: { epoch: 'I', offset: 0 }, 'review:1': { epoch: E, offset: 0 } } })
  const seen = notes(client)
  client.connect()
  const connection = await server.nextConnection()
  connection.establish({ epoch: 'I', offset: 2 })
  // while the inbox recovers, the channel form comes first: its inbox offset jumps, so the inbox does not move
  connection.send('note', { n: 2 }, { channel: 'review:1', offset: 1, inbox_offset: 2, id: 'same' })
  note(connection, 1, { inbox: true, offset: 1 })
  connection.send('note', { n: 2 }, { inbox: true, offset: 2, id: 'same' })
  connection.send('recovery.result', { streams: { inbox: { recovered: true, missed: 2 } } })
  note(connection, 3, { inbox: true, offset: 3 })
  await noteArrives(client, 3)
  t.same(seen, [2, 1, 3])
})

t.test('a subscribe asking to recover that the server refuses ends the recovery: the next hole is asked about again', async (t) => {
  const server = await startFakeServer(t)
  const client = createClient(t, { url: server.url, token: 'tok', fetch: false, channels: ['lobby:1'] })
  const errors = record(client, 'error')
  client.connect()
  const connection = await server.nextConnection()
  connection.establish()
  await confirm(connection, { 'lobby:1': { epoch: E, offset: 1 } })
  note(connection, 3, { channel: 'lobby:1', offset: 3 })
  const asked = await connection.next()
  t.same(asked.data.recover, { 'lobby:1': { epoch: E, offset: 1 } })
  connection.send('error', { code: 'TOO_MANY_SUBSCRIPTIONS', message: 'too many', request_id: asked.id })
  t.match((await errors.next())[0], { code: 'TOO_MANY_SUBSCRIPTIONS' })
  note(connection, 4, { channel: 'lobby:1', offset: 4 })
  t.same((await connection.next()).data.recover, { 'lobby:1': { epoch: E, offset: 1 } }, 'asked again, from the same position')
})

t.test('with reconnect: false an inbox hole cannot be recovered: a gap event, the message delivered, the connection kept', async (t) => {
  const server = await startFakeServer(t)
  const client = createClient(t, { url: server.url, token: 'tok', fetch: false, reconnect: false })
  const seen = notes(client)
  client.connect()
  const connection = await server.nextConnection()
  connection.establish({ epoch: E, offset: 0 })
  await client.waitForOpen()
  const gap = next(client, 'gap')
  note(connection, 2, { inbox: true, offset: 2 })
  t.same((await gap)[0], { stream: 'inbox', reason: 'gap' })
  note(connection, 3, { inbox: true, offset: 3 })
  await noteArrives(client, 3)
  t.same(seen, [2, 3])
  t.equal(client.state, 'open')
})
