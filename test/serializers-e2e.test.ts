import t, { type Test } from 'tap'
import type { RawData } from 'ws'
import { startServer } from './helpers/server.js'
import type { TestClient } from './helpers/client.js'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const TRICKY = 'say "hi" \\ </script> é 😀 \u2028 lone \uD800\n'

/** The raw text of every frame the client receives (the client's own listener parses them). */
function rawFrames (client: TestClient): string[] {
  const frames: string[] = []
  client.ws.on('message', (raw: RawData) => { frames.push(raw.toString()) })
  return frames
}

/**
 * The frame is exactly `JSON.stringify` of the envelope the seed describes
 * (keys in the seed's order, nothing more), with its own timestamp and id:
 * byte for byte what the server sent before its serializers were compiled.
 */
function checkFrame (t: Test, text: string | undefined, expected: { type: string, data: unknown, channel?: string }): void {
  t.ok(text, `${expected.type} frame received`)
  const parsed = JSON.parse(text ?? 'null') as { timestamp: string, id: string }
  t.match(parsed.timestamp, ISO)
  t.match(parsed.id, UUID)
  const envelope = { type: expected.type, data: expected.data, timestamp: parsed.timestamp, id: parsed.id }
  const exact = expected.channel === undefined ? envelope : { ...envelope, channel: expected.channel }
  t.strictSame(parsed, exact)
  t.equal(text, JSON.stringify(exact), `${expected.type}: the same bytes`)
}

t.test('pong, heartbeat.ack, a broadcast, a notification and a channel message parse to exactly their envelopes', async (t) => {
  const server = await startServer(t, { realtime: { channels: { room: {} } } })
  const client = await server.connect('alice')
  const frames = rawFrames(client)

  for (const pingId of [TRICKY, 7, null]) {
    const pong = await client.request({ type: 'ping', data: { pingId } }, 'pong')
    const timestamp = (pong.data as { timestamp: string }).timestamp
    t.match(timestamp, ISO)
    checkFrame(t, frames.pop(), { type: 'pong', data: { timestamp, pingId } })
  }
  const bare = await client.request({ type: 'ping' }, 'pong')
  checkFrame(t, frames.pop(), { type: 'pong', data: { timestamp: (bare.data as { timestamp: string }).timestamp } })
  const ack = await client.request({ type: 'heartbeat' }, 'heartbeat.ack')
  checkFrame(t, frames.pop(), { type: 'heartbeat.ack', data: { timestamp: (ack.data as { timestamp: string }).timestamp } })

  await client.request({ type: 'subscribe', data: { events: ['system.notification'], channels: ['room:1'] } }, 'subscription.confirmed')
  frames.length = 0
  const notification = { message: TRICKY, level: 'info' as const, timestamp: new Date().toISOString(), extra: { nested: [1, null, 'x'] } }
  t.equal(await server.app.realtime.broadcastToSubscribers('system.notification', { type: 'system.notification', data: notification }), 1)
  await client.next('system.notification')
  checkFrame(t, frames.pop(), { type: 'system.notification', data: notification })

  t.equal(await server.app.realtime.sendToUser('alice', { type: 'host.event', data: { [TRICKY]: TRICKY } }), 1)
  await client.next('host.event')
  checkFrame(t, frames.pop(), { type: 'host.event', data: { [TRICKY]: TRICKY } })

  t.equal(await server.app.realtime.publish('room:1', { type: 'room.message', data: { text: TRICKY } }), 1)
  await client.next('room.message')
  checkFrame(t, frames.pop(), { type: 'room.message', data: { text: TRICKY }, channel: 'room:1' })
})

t.test('data JSON cannot write is refused with the error the API raised before: FST_REALTIME_MESSAGE_INVALID and JSON.stringify\'s reason', async (t) => {
  const server = await startServer(t)
  await server.connect('alice')
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  for (const data of [{ n: 1n }, cyclic]) {
    let reason = ''
    try {
      JSON.stringify({ type: 'x', data, timestamp: 't', id: 'i' })
    } catch (err) {
      reason = (err as Error).message
    }
    await t.rejects(server.app.realtime.sendToUser('alice', { type: 'x', data }), {
      code: 'FST_REALTIME_MESSAGE_INVALID',
      message: `fastify-realtime: cannot send message: data is not serializable (${reason})`
    })
    await t.rejects(server.app.realtime.broadcastToAll({ type: 'x', data }), { code: 'FST_REALTIME_MESSAGE_INVALID' })
  }
})

/** The first frame a raw socket receives: connection.established, as text. */
async function welcomeText (url: string): Promise<string> {
  const { default: WebSocket } = await import('ws')
  const ws = new WebSocket(url)
  ws.on('error', () => {})
  try {
    return await new Promise<string>((resolve, reject) => {
      ws.once('message', (raw: RawData) => resolve(raw.toString()))
      ws.once('close', () => reject(new Error('closed before connection.established')))
    })
  } finally {
    ws.close()
  }
}

t.test('connection.established, written from a template, is exactly JSON.stringify of its envelope', async (t) => {
  for (const realtime of [{}, { channels: { room: {} }, heartbeatIntervalMs: 12345, connectionTimeoutMs: 67890 }, { inbox: { size: 10, ttlMs: 60000 } }]) {
    const server = await startServer(t, { realtime })
    const text = await welcomeText(`${server.wsUrl}/${server.token(TRICKY)}`)
    const parsed = JSON.parse(text) as { data: Record<string, unknown> }
    const d = parsed.data
    // the seed's keys, in the seed's order; inbox only with the inbox option
    const data = {
      connection_id: d.connection_id,
      user_id: TRICKY,
      server_time: d.server_time,
      features: d.features,
      heartbeat_interval_ms: 'heartbeatIntervalMs' in realtime ? 12345 : 30000,
      connection_timeout_ms: 'connectionTimeoutMs' in realtime ? 67890 : d.connection_timeout_ms,
      ...('inbox' in realtime ? { inbox: d.inbox } : {})
    }
    t.match(d.connection_id, UUID)
    t.match(d.server_time, ISO)
    t.same(d.features, 'channels' in realtime ? ['heartbeat', 'subscriptions', 'rate_limiting', 'channels'] : ['heartbeat', 'subscriptions', 'rate_limiting'])
    if ('inbox' in realtime) t.match(d.inbox, { epoch: String, offset: 0 })
    checkFrame(t, text, { type: 'connection.established', data })
  }
})
