import t from 'tap'
import fc from 'fast-check'
import { isUtf8 } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { startServer, type TestServer } from '../helpers/server.js'
import { openSocket, type Envelope, type TestClient } from '../helpers/client.js'
import { WireError } from '../../lib/protocol/codes.js'
import { rawSocket, until } from './support.js'

// Property-based fuzzing of the wire protocol over real sockets. Part one:
// thousands of text frames (arbitrary, malformed, hostile JSON) on a few
// long-lived connections, each of which must get exactly one defined answer
// and stay open. Part two: frames that must close the connection (invalid
// UTF-8, binary, too big, broken framing), each on its own connection, each
// with its documented close code. Throughout, a bystander connection must
// keep working and no prototype may be polluted.

const MAX_MESSAGE_SIZE = 256 * 1024
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2147483647)
const KNOWN_WIRE_CODES = new Set<string>(Object.values(WireError))
const PROTOCOL_REPLIES = new Set(['pong', 'heartbeat.ack', 'subscription.confirmed', 'unsubscription.confirmed'])
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype']

// ---- hostile JSON, written as text so `__proto__` keys and duplicates survive ----

/** A JSON value as a tree whose objects are key/value lists (duplicates and `__proto__` allowed). */
type Node = { kind: 'raw', text: string } | { kind: 'array', items: Node[] } | { kind: 'object', entries: Array<[string, Node]> }

function render (node: Node): string {
  switch (node.kind) {
    case 'raw': return node.text
    case 'array': return `[${node.items.map(render).join(',')}]`
    case 'object': return `{${node.entries.map(([key, value]) => `${JSON.stringify(key)}:${render(value)}`).join(',')}}`
  }
}

const raw = (text: string): Node => ({ kind: 'raw', text })
const obj = (entries: Array<[string, Node]>): Node => ({ kind: 'object', entries })

const hugeNumber = fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '9'.repeat(400), '123456789012345678901234567890', '0.' + '1'.repeat(500), '1E+308', '-1.7976931348623157e309')
const scalar: fc.Arbitrary<Node> = fc.oneof(
  fc.constantFrom('null', 'true', 'false', '0', '""', '{}', '[]', '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"').map(raw),
  hugeNumber.map(raw),
  fc.double().map(n => raw(Number.isFinite(n) ? JSON.stringify(n) : '0')),
  fc.integer().map(n => raw(String(n))),
  fc.string({ unit: 'binary', maxLength: 40 }).map(s => raw(JSON.stringify(s))),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(s => raw(JSON.stringify(s))),
  fc.string({ minLength: 129, maxLength: 300 }).map(s => raw(JSON.stringify(s))),
  fc.constantFrom(...PROTO_KEYS, 'toString', 'hasOwnProperty', 'valueOf').map(s => raw(JSON.stringify(s)))
)
const key = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom('type', 'data', 'id', 'timestamp', 'pingId', 'events', 'polluted', 'isAdmin') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) }
)
/** `{"__proto__":{"polluted":true}}` and friends: the classic payloads. */
const pollution: fc.Arbitrary<Node> = fc.constantFrom(
  obj([['__proto__', obj([['polluted', raw('true')]])]]),
  obj([['constructor', obj([['prototype', obj([['polluted', raw('true')]])]])]]),
  obj([['prototype', obj([['polluted', raw('true')]])]]),
  obj([['__proto__', raw('null')]]),
  obj([['__proto__', raw('[]')]])
)
const { value } = fc.letrec<{ value: Node }>(tie => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    pollution,
    fc.array(tie('value'), { maxLength: 4 }).map(items => ({ kind: 'array', items }) as Node),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map(entries => obj(entries))
  )
}))

/** 1,000 to 10,000 levels of arrays or objects around a payload. */
const deep: fc.Arbitrary<Node> = fc.tuple(fc.integer({ min: 1000, max: 10000 }), fc.constantFrom('[', '{"a":', '{"__proto__":', '{"constructor":'), scalar).map(([depth, open, inner]) => {
  const close = open === '[' ? ']' : '}'
  return raw(open.repeat(depth) + render(inner) + close.repeat(depth))
})

const messageType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('ping', 'heartbeat', 'subscribe', 'unsubscribe').map(s => raw(JSON.stringify(s))) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS, 'toString', 'hasOwnProperty', '', ' ping', 'PING', 'ping\u0000').map(s => raw(JSON.stringify(s))) },
  { weight: 1, arbitrary: value }
)
/** Data close enough to valid that it reaches the handlers, and far from it. */
const events = fc.oneof(
  fc.array(fc.constantFrom('review.updated', 'system.notification', 'upload.progress', ...PROTO_KEYS, 'nope'), { minLength: 0, maxLength: 6 }).map(list => raw(JSON.stringify(list))),
  fc.integer({ min: 101, max: 300 }).map(n => raw(JSON.stringify(Array.from({ length: n }, () => 'review.updated')))),
  value
)
const data = fc.oneof(
  fc.record({ pingId: value }).map(r => obj([['pingId', r.pingId]])),
  fc.record({ events }).map(r => obj([['events', r.events]])),
  fc.tuple(fc.array(fc.tuple(key, value), { maxLength: 3 }), fc.option(events, { nil: undefined })).map(([entries, ev]) => obj(ev === undefined ? entries : [...entries, ['events', ev]])),
  value,
  deep
)
const envelope: fc.Arbitrary<string> = fc.record({
  type: fc.option(messageType, { nil: undefined }),
  data: fc.option(data, { nil: undefined }),
  id: fc.option(fc.oneof(fc.string({ maxLength: 128 }).map(s => raw(JSON.stringify(s))), value), { nil: undefined }),
  timestamp: fc.option(value, { nil: undefined }),
  extra: fc.array(fc.tuple(key, value), { maxLength: 3 })
}).chain(r => {
  const entries: Array<[string, Node]> = []
  if (r.type !== undefined) entries.push(['type', r.type])
  if (r.data !== undefined) entries.push(['data', r.data])
  if (r.id !== undefined) entries.push(['id', r.id])
  if (r.timestamp !== undefined) entries.push(['timestamp', r.timestamp])
  entries.push(...r.extra)
  return fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }).map(shuffled => render(obj(shuffled)))
})

/** Any text frame within maxMessageSize: must be answered and leave the connection open. */
const textFrame: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: envelope },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 100 }) },
  { weight: 1, arbitrary: value.map(render) },
  { weight: 1, arbitrary: deep.map(render) },
  { weight: 1, arbitrary: envelope.map(text => text.slice(0, Math.max(1, text.length - 1))) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', 'undefined', 'NaN', '{"type":"ping"', '{"type":"ping"}}', '\uFEFF{"type":"ping"}', '{"type":"ping","data":{"pingId":NaN}}') }
)

// ---- frames that must close the connection, written raw (client frames are masked) ----

function frame (opcode: number, payload: Buffer, options: { fin?: boolean, rsv?: number, masked?: boolean, announcedLength?: number } = {}): Buffer {
  const { fin = true, rsv = 0, masked = true } = options
  const length = options.announcedLength ?? payload.length
  let header: Buffer
  if (length < 126) {
    header = Buffer.from([0, length])
  } else if (length < 65536) {
    header = Buffer.alloc(4)
    header.writeUInt16BE(length, 2)
    header[1] = 126
  } else {
    header = Buffer.alloc(10)
    header.writeBigUInt64BE(BigInt(length), 2)
    header[1] = 127
  }
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode
  if (!masked) return Buffer.concat([header, payload])
  header[1] = (header[1] ?? 0) | 0x80
  const mask = randomBytes(4)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i] = (body[i] ?? 0) ^ (mask[i % 4] ?? 0)
  return Buffer.concat([header, mask, body])
}

const INVALID_UTF8 = [[0xff], [0xfe], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc3]]
const invalidUtf8 = fc.tuple(fc.string({ maxLength: 30 }), fc.constantFrom(...INVALID_UTF8), fc.string({ maxLength: 30 }))
  .map(([before, bad, after]) => Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]))
  .filter(bytes => !isUtf8(bytes))

interface Closing { name: string, bytes: Buffer, code: number }
const closingFrame: fc.Arbitrary<Closing> = fc.oneof(
  invalidUtf8.map(bytes => ({ name: 'invalid UTF-8 text', bytes: frame(0x1, bytes), code: 1007 })),
  invalidUtf8.filter(b => b.length > 1).chain(bytes => fc.integer({ min: 1, max: bytes.length - 1 }).map(cut => ({
    name: 'invalid UTF-8 across fragments',
    bytes: Buffer.concat([frame(0x1, bytes.subarray(0, cut), { fin: false }), frame(0x0, bytes.subarray(cut))]),
    code: 1007
  }))),
  fc.uint8Array({ minLength: 0, maxLength: 200 }).map(bytes => ({ name: 'binary frame', bytes: frame(0x2, Buffer.from(bytes)), code: 1003 })),
  fc.integer({ min: MAX_MESSAGE_SIZE + 1, max: 2 ** 40 }).map(length => ({
    name: 'frame over maxMessageSize', bytes: Buffer.concat([frame(0x1, Buffer.alloc(0), { announcedLength: length }), Buffer.alloc(64)]), code: 1009
  })),
  fc.constantFrom(0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf).map(opcode => ({ name: `reserved opcode ${opcode}`, bytes: frame(opcode, Buffer.from('x')), code: 1002 })),
  fc.integer({ min: 1, max: 7 }).map(rsv => ({ name: `RSV bits ${rsv} without an extension`, bytes: frame(0x1, Buffer.from('{}'), { rsv }), code: 1002 })),
  fc.constant({ name: 'unmasked client frame', bytes: frame(0x1, Buffer.from('{"type":"ping"}'), { masked: false }), code: 1002 }),
  fc.constant({ name: 'continuation with nothing to continue', bytes: frame(0x0, Buffer.from('x')), code: 1002 }),
  fc.constant({ name: 'fragmented ping (control frame)', bytes: frame(0x9, Buffer.from('x'), { fin: false }), code: 1002 }),
  fc.constant({ name: 'control frame over 125 bytes', bytes: frame(0x9, Buffer.alloc(126)), code: 1002 })
)

// ---- the checks ----

function prototypeSnapshot (): string[] {
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype]
    .map(proto => Object.getOwnPropertyNames(proto).sort().join(','))
}

function expectedRequestId (text: string): string | undefined {
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch { return undefined }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined
  const id = (parsed as Record<string, unknown>).id
  return typeof id === 'string' && id.length <= 128 ? id : undefined
}

/** What is wrong with `reply` as the answer to `text`, or undefined if it is a defined answer. */
function judge (text: string, reply: Envelope): string | undefined {
  if (typeof reply.id !== 'string' || typeof reply.timestamp !== 'string') return 'not an envelope'
  if (PROTOCOL_REPLIES.has(reply.type)) return undefined
  if (reply.type !== 'error') return `unexpected reply type ${reply.type}`
  const code = reply.data.code
  if (typeof code !== 'string' || !KNOWN_WIRE_CODES.has(code)) return `unknown error code ${String(code)}`
  if (code === WireError.rateLimited) return 'rate limited: raise rateLimit.max'
  if (code === WireError.handlerError) return 'a protocol handler threw'
  if (reply.data.request_id !== expectedRequestId(text)) return `request_id ${String(reply.data.request_id)} does not match the frame's id`
  return undefined
}

async function fuzzServer (t: { teardown (fn: () => unknown): void }): Promise<TestServer> {
  return startServer(t, {
    realtime: {
      maxMessageSize: MAX_MESSAGE_SIZE,
      maxConnectionsPerUser: 1000,
      rateLimit: { max: 1_000_000, windowMs: 60000 },
      handshakeRateLimit: { max: 100_000, timeWindowMs: 60000 }
    }
  })
}

t.test('fuzz: thousands of random and hostile text frames each get one defined answer; no crash, no pollution, bystander unaffected', async (t) => {
  const prototypesBefore = prototypeSnapshot()
  const server = await fuzzServer(t)
  const bystander = await server.connect('bystander')
  const connections: TestClient[] = []
  for (let i = 0; i < 3; i++) connections.push(await server.connect(`fuzzer-${i}`))
  let frames = 0
  let errorsByCode: Record<string, number> = {}

  t.comment(`fast-check seed ${SEED} (FUZZ_SEED=${SEED} to replay)`)
  await fc.assert(fc.asyncProperty(fc.array(textFrame, { minLength: 5, maxLength: 20 }), fc.nat(2), async (batch, which) => {
    const client = connections[which] as TestClient
    // pipelined: the server answers a connection's frames in order, one answer each
    for (const text of batch) client.ws.send(text)
    for (const text of batch) {
      const reply = await client.next(undefined, 5000)
      const problem = judge(text, reply)
      if (problem !== undefined) throw new Error(`${problem}: frame ${JSON.stringify(text.slice(0, 200))} -> ${JSON.stringify(reply).slice(0, 300)}`)
      if (reply.type === 'error') errorsByCode[reply.data.code as string] = (errorsByCode[reply.data.code as string] ?? 0) + 1
      frames++
    }
    if (client.ws.readyState !== client.ws.OPEN) throw new Error('a text frame within the limits closed the connection')
    if (({} as Record<string, unknown>).polluted !== undefined) throw new Error('Object.prototype polluted')
  }), { numRuns: 400, seed: SEED, endOnFailure: true })

  t.ok(frames >= 2000, `${frames} frames, every one answered`)
  t.comment(`answers: ${JSON.stringify(errorsByCode)}, the rest protocol replies`)
  errorsByCode = {}
  t.ok(connections.every(c => c.ws.readyState === c.ws.OPEN), 'every fuzzed connection is still open')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no polluted property on objects')
  t.same(prototypeSnapshot(), prototypesBefore, 'no new keys on Object/Array/Function/String prototypes')
  const pong = await bystander.request({ type: 'ping', data: { pingId: 'still here' } }, 'pong')
  t.equal(pong.data.pingId, 'still here', 'the bystander still answers')
  t.notOk(server.logs.some(line => /"level":(50|60)/.test(line)), 'nothing was logged as an error')
  const subscribed = Object.keys(server.app.realtime.stats().subscriptions)
  t.ok(subscribed.every(event => ['review.updated', 'system.notification', 'upload.progress'].includes(event)), `only allowed events were subscribed (${subscribed.join(', ')})`)
})

t.test('fuzz: frames that must close (invalid UTF-8, binary, too big, broken framing) close with their documented code; bystander unaffected', async (t) => {
  const prototypesBefore = prototypeSnapshot()
  const server = await fuzzServer(t)
  const bystander = await server.connect('bystander')
  const seen: Record<string, number> = {}
  let n = 0

  await fc.assert(fc.asyncProperty(closingFrame, async (closing) => {
    const client = await openSocket(`${server.wsUrl}/${server.token(`closer-${n++}`)}`)
    try {
      await client.next('connection.established')
      rawSocket(client.ws).write(closing.bytes)
      const { code } = await Promise.race([
        client.closed,
        new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`${closing.name}: not closed within 3 s`)), 3000))
      ])
      if (code !== closing.code) throw new Error(`${closing.name}: closed with ${code}, expected ${closing.code}`)
      seen[`${closing.name} -> ${code}`] = (seen[`${closing.name} -> ${code}`] ?? 0) + 1
    } finally {
      client.ws.terminate()
    }
  }), { numRuns: 400, seed: SEED, endOnFailure: true })

  t.comment(JSON.stringify(seen))
  t.ok(Object.keys(seen).length >= 8, 'every kind of closing frame was tried')
  await until(() => server.app.realtime.stats().connections === 1, 'the server to forget the closed connections')
  t.equal(server.app.websocketServer.clients.size, 1, 'only the bystander is left')
  const pong = await bystander.request({ type: 'ping', data: { pingId: 'still here' } }, 'pong')
  t.equal(pong.data.pingId, 'still here', 'the bystander still answers')
  t.same(prototypeSnapshot(), prototypesBefore, 'no new keys on any prototype')
  t.notOk(server.logs.some(line => /"level":(50|60)/.test(line)), 'nothing was logged as an error')
})
