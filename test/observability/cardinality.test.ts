import t from 'tap'
import fc from 'fast-check'
import { Type } from '@sinclair/typebox'
import { defineMessage, WireError } from '../../lib/index.js'
import { DEFAULT_EVENTS } from '../../lib/protocol/server-messages.js'
import { scrapeUntil, startMetricsServer } from './support.js'

const P = 'realtime_'
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']
const anyType = fc.oneof(
  fc.string({ minLength: 1, maxLength: 300 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.constantFrom(...PROTO_KEYS, 'ping ', 'PING', 'subscribe\u0000', 'chat.send.x', 'unknown', 'other')
)

t.test('labels stay bounded whatever types, events and close codes clients send', async (t) => {
  const server = await startMetricsServer(t, {
    realtime: {
      rateLimit: { max: 100000, windowMs: 60000 },
      maxConnectionsPerUser: 100,
      messages: { 'chat.send': defineMessage({ schema: Type.Object({}), handler () {} }) }
    }
  })
  const client = await server.connect('fuzzer')
  // the baseline has seen a handshake and a made-up close code already (each adds its series once)
  const first = await server.connect('closer')
  first.ws.close(3000)
  await first.closed
  const baseline = await scrapeUntil(server, (s) => s.value(`${P}connections`) === 1, 'the first closer gone')

  const types = fc.sample(anyType, { numRuns: 400, seed: 13 })
  const eventNames = fc.sample(fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.constantFrom(...PROTO_KEYS)), { minLength: 1, maxLength: 5 }), { numRuns: 100, seed: 14 })
  for (const type of types) client.send({ type, data: {} })
  for (const events of eventNames) {
    client.send({ type: 'subscribe', data: { events } })
    client.send({ type: 'unsubscribe', data: { events } })
  }
  for (const junk of ['{', '[]', 'null', '"x"', '{"type":1}', '{"type":""}', '{"type":{"__proto__":1}}']) client.send(junk)
  await client.request({ type: 'ping', data: {} }, 'pong') // everything before it was handled

  // closes with every kind of code a client may send
  const codes = fc.sample(fc.integer({ min: 3000, max: 4999 }), { numRuns: 30, seed: 15 })
  for (const code of codes) {
    const peer = await server.connect('closer')
    peer.ws.close(code)
    await peer.closed
  }
  const scrape = await scrapeUntil(server, (s) => s.value(`${P}connections`) === 1, 'every closer gone')

  const declaredTypes = ['chat.send', 'heartbeat', 'ping', 'subscribe', 'unknown', 'unsubscribe']
  t.same(scrape.labelValues(`${P}messages_received_total`, 'type'), declaredTypes, 'declared types and "unknown", nothing a client made up')
  t.ok(scrape.value(`${P}messages_received_total`, { type: 'unknown' }) >= types.length - 10, 'the fuzzed types are counted as unknown')
  t.same(scrape.labelValues(`${P}subscriptions`, 'event'), [...DEFAULT_EVENTS].sort(), 'declared events only')
  t.same(scrape.labelValues(`${P}errors_sent_total`, 'code'), Object.values(WireError).sort())
  const closeLabels = scrape.labelValues(`${P}connections_closed_total`, 'code')
  t.ok(closeLabels.every(code => code === 'other' || code === '4000' || code === '4001' || code === '4008' || code === '4029' || code === '4500' || code === '4503'), `close codes from the known set only: ${closeLabels.join(', ')}`)
  t.ok(closeLabels.length <= 3)

  // the number of series does not depend on the traffic
  const key = (s: { name: string, labels: Record<string, string> }): string => s.name + JSON.stringify(s.labels)
  const added = scrape.samples.map(key).filter(k => !baseline.samples.some(b => key(b) === k))
  // the first "unknown" type and a fuzzed close code that happens to be one of ours are the only new series possible
  t.ok(added.length <= 2, `${baseline.samples.length} series before the fuzz, ${scrape.samples.length} after; new: ${added.join(' ')}`)
  for (const sample of scrape.samples) {
    for (const value of Object.values(sample.labels)) t.ok(value.length <= 64, `label value ${value.slice(0, 20)}… is short`)
  }
})
