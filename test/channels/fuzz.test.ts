import t from 'tap'
import fc from 'fast-check'
import { startServer } from '../helpers/server.js'
import { connect, subscribe } from './support.js'

// Channel names from hostile clients and careless hosts: unicode, lone
// surrogates, 10 KB strings, prototype keys as namespaces and ids. Every
// request gets its one defined answer, the process and the other
// connections carry on, and no prototype is polluted.

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2147483647)
const NAMESPACES = ['review', 'lobby', 'constructor']
const VALID = /^(review|lobby|constructor):[A-Za-z0-9_.@=-]{1,128}$/
const PROTO_WORDS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']

const idChar = fc.constantFrom(...'abcXYZ019_.@=-')
const validId = fc.string({ unit: idChar, minLength: 1, maxLength: 128 })
const anyText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('\ud800', '\udfff\ud800', '\u0000', '\u202e', '%00', '../', '*', '?', '[a]', ' ', '')
)
const channelName = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...NAMESPACES), validId).map(([ns, id]) => `${ns}:${id}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...NAMESPACES, ...PROTO_WORDS), fc.constantFrom(...PROTO_WORDS)).map(([ns, id]) => `${ns}:${id}`) },
  { weight: 2, arbitrary: fc.tuple(fc.oneof(fc.constantFrom(...NAMESPACES), anyText), anyText).map(([ns, id]) => `${ns}:${id}`) },
  { weight: 1, arbitrary: anyText },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NAMESPACES), fc.constantFrom(129, 1000, 10 * 1024)).map(([ns, size]) => `${ns}:${'a'.repeat(size)}`) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(10 * 1024), '💥'.repeat(3000), 'review:' + 'é'.repeat(100)) }
)

t.test('fuzzed channel names never crash, never leak into an index, never pollute', { timeout: 120000 }, async (t) => {
  const authorized: string[] = []
  const server = await startServer(t, {
    realtime: {
      rateLimit: { max: 1_000_000, windowMs: 60000 },
      channels: {
        review: { authorize: async (_connection, id) => { authorized.push(id); return true } },
        lobby: {},
        constructor: {}
      }
    }
  })
  const fuzzer = await connect(t, server, 'fuzzer')
  const bystander = await connect(t, server, 'bystander')
  await subscribe(bystander.client, { channels: ['lobby:bystander'] })
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort()

  await fc.assert(fc.asyncProperty(fc.array(channelName, { minLength: 1, maxLength: 5 }), async (names) => {
    const invalid = [...new Set(names)].filter(name => !VALID.test(name))
    const answer = await subscribe(fuzzer.client, { channels: names })
    if (invalid.length > 0) {
      t.equal(answer.type, 'error')
      t.equal((answer.data as { code: string }).code, 'INVALID_CHANNEL')
      // each named by a prefix cut between two characters, the list bounded (error frames quote client input bounded)
      const details = (answer.data as { details: string[] }).details
      t.ok(details.length >= 1 && details.length <= invalid.length, 'names the bad ones')
      // at most 64 bytes inside the JSON string (66 with its quotes)
      details.forEach((detail) => t.ok(invalid.some(name => name.startsWith(detail)) && Buffer.byteLength(JSON.stringify(detail)) <= 66, 'a bounded prefix of a bad name'))
      t.ok(JSON.stringify(answer).length < 100 * 1024, 'a bounded answer')
    } else {
      t.equal(answer.type, 'subscription.confirmed')
      const unsubscribed = await subscribe(fuzzer.client, { channels: names }, 'unsubscribe')
      t.equal(unsubscribed.type, 'unsubscription.confirmed')
    }
    for (const name of names) {
      try {
        const delivered = await server.app.realtime.publish(name, { type: 'note', data: { name } })
        t.ok(VALID.test(name), 'publish accepts only valid names')
        t.equal(delivered, 0, 'the fuzzer left every channel')
      } catch (err) {
        t.notOk(VALID.test(name))
        t.equal((err as { code?: string }).code, 'FST_REALTIME_CHANNEL_INVALID')
      }
    }
  }), { seed: SEED, numRuns: 150, interruptAfterTimeLimit: 90000 })

  t.same(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys, 'Object.prototype unchanged')
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.same([...(server.app.realtime.getConnection(fuzzer.id)?.channels ?? [])], [], 'the fuzzer is in no channel')
  t.ok(authorized.every(id => /^[A-Za-z0-9_.@=-]{1,128}$/.test(id)), 'authorize only ever saw valid ids')
  t.equal(await server.app.realtime.publish('lobby:bystander', { type: 'note', data: { still: 'here' } }), 1)
  t.match(await bystander.client.next('note'), { channel: 'lobby:bystander', data: { still: 'here' } })
  t.equal(fuzzer.client.ws.readyState, 1, 'the fuzzer was never cut off')
})

t.test('hostile subscribe shapes are INVALID_MESSAGE; prototype keys in the data change nothing', async (t) => {
  const server = await startServer(t, { realtime: { channels: { lobby: {} } } })
  const client = await connect(t, server, 'x')
  const frames = [
    '{"type":"subscribe","id":"a","data":{"channels":"lobby:1"}}',
    '{"type":"subscribe","id":"b","data":{"channels":{"__proto__":{"polluted":true}}}}',
    '{"type":"subscribe","id":"c","data":{"channels":[1,2]}}',
    '{"type":"subscribe","id":"d","data":{"__proto__":{"channels":["lobby:1"]}}}',
    '{"type":"subscribe","id":"e","data":{"constructor":{"prototype":{"polluted":true}}}}',
    '{"type":"unsubscribe","id":"f","data":{"channels":[null]}}'
  ]
  for (const frame of frames) {
    client.client.send(frame)
    const answer = await client.client.nextWhere((m) => (m.data as { request_id?: unknown }).request_id === (JSON.parse(frame) as { id: string }).id)
    t.match(answer.data, { code: 'INVALID_MESSAGE' }, frame)
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.equal(server.app.realtime.subscribersOf('lobby:1'), 0)
})
