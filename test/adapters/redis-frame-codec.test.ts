import t from 'tap'
import fc from 'fast-check'
import type { ClusterMessage } from '../../lib/adapters/adapter.js'
import {
  BATCH_VERSION, BROADCAST_FRAME_START, FRAME_VERSION, decodeFrame, decodeFrames, encodeAdapterFrame,
  encodeBatch, encodeBody, encodeMessage, isFrameFrom, senderLine
} from '../../lib/adapters/redis-frame-codec.js'

// The frame codec of the Redis adapter as plain functions: what one node
// encodes, another decodes to the same message; anything else is `invalid`,
// never an exception.

const NODE = 'node-a'
const deliver: ClusterMessage = { kind: 'deliver', target: { kind: 'channel', channel: 'room:1' }, payload: '{"type":"note","data":{"text":"a\\nb"}}' }
const disconnect: ClusterMessage = { kind: 'disconnect', userId: 'u1', code: 4000, reason: 'bye' }
const membership: ClusterMessage = { kind: 'membership', action: 'join', target: { userId: 'u1' }, channel: 'room:1' }

t.test('a deliver round-trips with its publishedAt; the payload is kept as is', async (t) => {
  const text = encodeMessage(NODE, deliver, 1234)
  t.ok(text.startsWith(`${FRAME_VERSION}\n${NODE}\n`), 'version line, then the sender')
  t.same(decodeFrame(text), { kind: 'message', message: { ...deliver, publishedAt: 1234 } })
  t.same(decodeFrames(text), [{ kind: 'message', message: { ...deliver, publishedAt: 1234 } }], 'a plain frame is a list of one')
})

t.test('disconnect and membership messages round-trip', async (t) => {
  for (const message of [disconnect, membership]) {
    t.same(decodeFrame(encodeMessage(NODE, message, 1)), { kind: 'message', message })
  }
})

t.test('a deliver with seq (the history script\'s frame) keeps its stamps; publishedAt only when a number', async (t) => {
  const seq = { channel: { offset: 3, epoch: 'e1' } }
  const text = `${BROADCAST_FRAME_START}${JSON.stringify({ kind: 'deliver', target: deliver.target, seq, publishedAt: 'soon' })}\n${deliver.kind === 'deliver' ? deliver.payload : ''}`
  t.same(decodeFrame(text), { kind: 'message', message: { ...deliver, seq } })
  t.notOk(isFrameFrom(text, senderLine(NODE)), 'a broadcast frame is nobody\'s own')
})

t.test('the adapter\'s count frames decode with their sender', async (t) => {
  const count = { kind: 'count' as const, queryId: 'q1', channel: 'room:1' }
  t.same(decodeFrame(encodeAdapterFrame(NODE, count)), { kind: 'adapter', from: NODE, frame: count })
  const counted = { kind: 'counted' as const, queryId: 'q1', to: 'node-b', count: 3 }
  t.same(decodeFrame(encodeAdapterFrame(NODE, counted)), { kind: 'adapter', from: NODE, frame: counted })
})

t.test('isFrameFrom tells a node its own frames and batches, not another\'s with a longer id', async (t) => {
  const own = senderLine(NODE)
  t.ok(isFrameFrom(encodeMessage(NODE, disconnect, 1), own))
  t.ok(isFrameFrom(encodeBatch(NODE, [encodeBody(disconnect, 1), encodeBody(deliver, 2)]), own))
  t.notOk(isFrameFrom(encodeMessage(`${NODE}-2`, disconnect, 1), own))
})

t.test('a batch decodes to its frames in order; a batch of one is a plain frame', async (t) => {
  const bodies = [encodeBody(deliver, 1), encodeBody(disconnect, 2), encodeBody(membership, 3), encodeAdapterFrame(NODE, { kind: 'count', queryId: 'q', channel: 'c' }).slice(`1\n${NODE}\n`.length)]
  const text = encodeBatch(NODE, bodies)
  t.ok(text.startsWith(`${BATCH_VERSION}\n${NODE}\n`))
  t.same(decodeFrames(text), [
    { kind: 'message', message: { ...deliver, publishedAt: 1 } },
    { kind: 'message', message: disconnect },
    { kind: 'message', message: membership },
    { kind: 'adapter', from: NODE, frame: { kind: 'count', queryId: 'q', channel: 'c' } }
  ])
  t.equal(encodeBatch(NODE, [bodies[1] as string]), encodeMessage(NODE, disconnect, 2))
})

t.test('payloads with newlines, digits and non-ASCII text keep their lengths in a batch', async (t) => {
  const payloads = ['12\n{"x":1}\n', 'é😀\u2028', '', '\n\n\n']
  const messages: ClusterMessage[] = payloads.map(payload => ({ kind: 'deliver', target: { kind: 'all' }, payload }))
  const decoded = decodeFrames(encodeBatch(NODE, messages.map(m => encodeBody(m, 7))))
  t.same(decoded, messages.map(message => ({ kind: 'message', message: { ...message, publishedAt: 7 } })))
})

t.test('property: any batch of deliveries round-trips in order', async () => {
  const target = fc.oneof(
    fc.constant({ kind: 'all' as const }),
    fc.record({ kind: fc.constant('channel' as const), channel: fc.string({ maxLength: 20 }) }),
    fc.record({ kind: fc.constant('users' as const), userIds: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }) })
  )
  const message = fc.record({ kind: fc.constant('deliver' as const), target, payload: fc.string({ unit: 'grapheme', maxLength: 60 }) })
  fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 12 }), fc.nat(), (messages, now) => {
    const decoded = decodeFrames(encodeBatch(NODE, messages.map(m => encodeBody(m, now))))
    return JSON.stringify(decoded) === JSON.stringify(messages.map(m => ({ kind: 'message', message: { ...m, publishedAt: now } })))
  }), { numRuns: 300 })
})

t.test('malformed frames are invalid, never thrown', async (t) => {
  const invalid = { kind: 'invalid' }
  const cases = [
    '', '1', '1\n', '1\nnode', '1\nnode\n', '1\nnode\n{"kind":"deliver"', '3\nnode\n{}\n', '1xnode\n{}\n',
    '1\nnode\nnot json\n', '1\nnode\nnull\n', '1\nnode\n5\n', '1\nnode\n"text"\n', '1\nnode\n[1\n'
  ]
  for (const text of cases) {
    t.same(decodeFrame(text), invalid, JSON.stringify(text))
    t.same(decodeFrames(text), [invalid], `${JSON.stringify(text)} as a batch reader`)
  }
})

t.test('batches whose framing is broken are one invalid; a bad body is invalid in its place', async (t) => {
  const invalid = { kind: 'invalid' }
  const good = encodeBody(disconnect, 1)
  const cases = [
    '2', '2\n', '2\nnode', '2x\nnode\n5\n{}\n', '2\nnode\n',
    `2\nnode\n${good.length + 1}\n${good}`, // longer than what is left
    `2\nnode\n\n${good}`, // no digits
    `2\nnode\n1a\n${good}`, // not a number
    `2\nnode\n-1\n${good}`,
    `2\nnode\n${good.length}`, // no newline after the length
    `2\nnode\n12345678901\n${good}`, // more digits than any Redis message
    `2\nnode\n${good.length}\n${good}5\n`, // a trailing length without its body
    `2\nnode\n${good.length}\n${good}` + `${'9'.repeat(9)}\nshort`
  ]
  for (const text of cases) t.same(decodeFrames(text), [invalid], JSON.stringify(text).slice(0, 60))
  const bad = 'nope\n'
  t.same(decodeFrames(`2\nnode\n${bad.length}\n${bad}${good.length}\n${good}`), [invalid, { kind: 'message', message: disconnect }])
  // a body whose header line ends beyond its length is not read into the next one
  const cut = '{"kind":"disconnect"'
  t.same(decodeFrames(`2\nnode\n${cut.length}\n${cut}${good.length}\n${good}`), [invalid, { kind: 'message', message: disconnect }])
})

t.test('property: random text never throws out of the decoders', async () => {
  const prefixes = fc.constantFrom('', '1\n', '2\n', '1\nn\n', '2\nn\n', '2\nn\n5\n')
  fc.assert(fc.property(prefixes, fc.string({ maxLength: 80 }), (prefix, rest) => {
    const text = prefix + rest
    decodeFrame(text)
    const frames = decodeFrames(text)
    return Array.isArray(frames) && frames.length >= 1
  }), { numRuns: 2000 })
})

t.test('a batch whose frames repeat one delivery header decodes each frame in full; other headers are never shared', async (t) => {
  const other: ClusterMessage = { kind: 'deliver', target: { kind: 'channel', channel: 'room:2' }, payload: 'p2' }
  const bodies = [encodeBody(deliver, 7), encodeBody(deliver, 7), encodeBody(other, 7), encodeBody(deliver, 8), encodeBody(deliver, 7), encodeBody(disconnect, 7), encodeBody(disconnect, 7)]
  const frames = decodeFrames(encodeBatch(NODE, bodies))
  t.same(frames, [
    { kind: 'message', message: { ...deliver, publishedAt: 7 } },
    { kind: 'message', message: { ...deliver, publishedAt: 7 } },
    { kind: 'message', message: { ...other, publishedAt: 7 } },
    { kind: 'message', message: { ...deliver, publishedAt: 8 } },
    { kind: 'message', message: { ...deliver, publishedAt: 7 } },
    { kind: 'message', message: disconnect },
    { kind: 'message', message: disconnect }
  ], 'every frame as if decoded alone, in order')
  const messages = frames.map(f => f.kind === 'message' ? f.message : undefined)
  t.not(messages[0], messages[1], 'each delivery is a message object of its own')
  t.equal((messages[0] as { target: unknown }).target, (messages[1] as { target: unknown }).target, 'two frames with one header share its parsed target')
  t.not(messages[5], messages[6], 'two identical non-delivery frames are two objects')

  // a header that is not an object, and a delivery with stream offsets, are parsed each time
  const seq = { channel: { offset: 3, epoch: 'e1' } }
  const withSeq = `${JSON.stringify({ kind: 'deliver', target: deliver.target, seq })}\nx`
  const odd = decodeFrames(encodeBatch(NODE, ['null\n', 'null\n', withSeq, withSeq]))
  t.same(odd, [{ kind: 'invalid' }, { kind: 'invalid' }, { kind: 'message', message: { kind: 'deliver', target: deliver.target, payload: 'x', seq } }, { kind: 'message', message: { kind: 'deliver', target: deliver.target, payload: 'x', seq } }])
  const [, , a, b] = odd.map(f => f.kind === 'message' ? f.message as { seq?: unknown } : undefined)
  t.not(a?.seq, b?.seq, 'stream offsets are never shared between two messages')
})
