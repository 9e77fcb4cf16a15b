import t from 'tap'
import fc from 'fast-check'
import { isUtf8 } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import path from 'node:path'
import { startServer, signToken, type TestServer } from '../helpers/server.js'
import { openSocket, type Envelope, type TestClient } from '../helpers/client.js'
import { CloseCode, WireError } from '../../lib/protocol/codes.js'
import { rawSocket, until } from './support.js'
import type { Teardown } from '../helpers/teardown.js'
import { forkServer } from '../helpers/forked-server.js'

// Property-based fuzzing of the wire protocol over real sockets. Part one:
// thousands of text frames (arbitrary, malformed, hostile JSON) on a few
// long-lived connections, each of which must get exactly one defined answer
// and stay open. Part two: frames that must close the connection (invalid
// UTF-8, binary, too big, broken framing), each on its own connection, each
// with its documented close code. Part three: host message types (strict
// schemas, records, nested objects) hit with long keys and ids under a large
// and a small maxMessageSize, on a server in its own process. Throughout, a
// bystander connection must keep working and no prototype may be polluted.

const MAX_MESSAGE_SIZE = 256 * 1024
/** FUZZ_SEED replays a run; CI runs one fixed seed (a red build must reproduce); elsewhere each run explores a new one. */
const CI_SEED = 20240611
const isCI = !['', 'false', '0'].includes(process.env.CI ?? '')
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : (isCI ? CI_SEED : Date.now() % 2147483647)
const KNOWN_CLOSE_CODES = new Set<number>(Object.values(CloseCode))
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

async function fuzzServer (t: Teardown): Promise<TestServer> {
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
  t.comment(`fast-check seed ${SEED} (FUZZ_SEED=${SEED} to replay)`)

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
  // ws drops a socket from its clients on the socket's close, which can come after the node forgot it
  await until(() => server.app.websocketServer.clients.size === 1, 'ws to let the closed sockets go')
  t.equal(server.app.websocketServer.clients.size, 1, 'only the bystander is left')
  const pong = await bystander.request({ type: 'ping', data: { pingId: 'still here' } }, 'pong')
  t.equal(pong.data.pingId, 'still here', 'the bystander still answers')
  t.same(prototypeSnapshot(), prototypesBefore, 'no new keys on any prototype')
  t.notOk(server.logs.some(line => /"level":(50|60)/.test(line)), 'nothing was logged as an error')
})

// ---- part three: host message types, long keys and ids, small maxMessageSize ----

/** What the host types of fixtures/fuzz-server.ts answer when their data is valid. */
const HOST_REPLY = 'host.ok'
const HOST_TYPES = ['profile.update', 'settings.patch', 'doc.nested', 'fail.always'] as const
/** Every reply built from client input stays under this, whatever the client sent. */
const MAX_ERROR_REPLY_BYTES = 2048

/** Characters that grow when escaped: in JSON (`"`, `\`, controls), in a TypeBox error path (`/` and `~` double) or in UTF-8. */
const KEY_CHARS = ['/', '~', 'a', 'Z', '.', ' ', '"', '\\', '\u0001', 'é', '😀']
const repeatedKey = (min: number, max: number): fc.Arbitrary<string> =>
  fc.tuple(fc.constantFrom(...KEY_CHARS), fc.integer({ min, max }), fc.string({ maxLength: 4 })).map(([c, n, tail]) => c.repeat(n) + tail)
const hostKey = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('name', 'address', 'tags', 'street', 'city', 'meta', 'v', 'more', 'ok', 'UPPER', 'Bad-Key', '', '__proto__', 'constructor') },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }) },
  { weight: 3, arbitrary: repeatedKey(60, 1400) },
  // 30 KB keys: the size that doubled into a reply over maxMessageSize
  { weight: 1, arbitrary: repeatedKey(20_000, 33_000) }
)
const hostScalar = fc.oneof(
  fc.string({ maxLength: 40 }), fc.integer(), fc.boolean(), fc.constant(null),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ minLength: 100, maxLength: 3000 })
)
const { hostValue } = fc.letrec<{ hostValue: unknown }>(tie => ({
  hostValue: fc.oneof(
    { depthSize: 'small' },
    hostScalar,
    fc.array(tie('hostValue'), { maxLength: 3 }),
    fc.array(fc.tuple(hostKey, tie('hostValue')), { maxLength: 3 }).map(entries => Object.fromEntries(entries))
  )
}))
/** An object with these entries plus a few of the fuzzer's own. */
const withExtras = (base: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> =>
  fc.tuple(base, fc.array(fc.tuple(hostKey, hostValue), { maxLength: 2 })).map(([object, extra]) => ({ ...object, ...Object.fromEntries(extra) }))
const record = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> =>
  fc.array(fc.tuple(hostKey, value), { maxLength: 4 }).map(entries => Object.fromEntries(entries))

const profileData = withExtras(fc.record({
  name: fc.oneof(fc.string({ maxLength: 64 }), hostScalar),
  address: withExtras(fc.record({ street: fc.string({ maxLength: 64 }), city: fc.oneof(fc.string({ maxLength: 64 }), hostScalar) }, { requiredKeys: [] })),
  tags: fc.array(fc.oneof(fc.string({ maxLength: 32 }), hostScalar), { maxLength: 10 })
}, { requiredKeys: [] }))
const settingsData = record(fc.oneof(fc.string({ maxLength: 32 }), fc.integer(), fc.boolean(), hostValue))
const nestedData = withExtras(fc.record({
  meta: record(withExtras(fc.record({ v: fc.oneof(fc.integer(), hostScalar), more: record(fc.oneof(fc.string({ maxLength: 8 }), hostScalar)) }, { requiredKeys: [] })))
}, { requiredKeys: [] }))
/** The built-in types too, with the fuzzer's long values: subscribe's details echo the client's event names. */
const subscribeData = fc.record({ events: fc.array(fc.oneof(fc.string({ maxLength: 128 }), repeatedKey(60, 128)), { minLength: 1, maxLength: 100 }) })

/** A frame to send; printed short in fast-check's reports (a counterexample can be 100 KB). */
interface Frame { text: string }
const summary = (text: string): string => `${Buffer.byteLength(text)}-byte frame ${JSON.stringify(text.slice(0, 160))}${text.length > 160 ? '...' : ''}`
function frameOf (text: string): Frame {
  return { text, [fc.toStringMethod]: () => summary(text) } as Frame
}

const longId = fc.oneof(fc.string({ maxLength: 128 }), fc.string({ minLength: 120, maxLength: 128 }), repeatedKey(100, 3000), fc.integer())
const hostEnvelope: fc.Arbitrary<Frame> = fc.oneof(
  ...[
    fc.record({ type: fc.constant('profile.update'), data: profileData }),
    fc.record({ type: fc.constant('settings.patch'), data: settingsData }),
    fc.record({ type: fc.constant('doc.nested'), data: nestedData }),
    fc.record({ type: fc.constant('fail.always'), data: fc.oneof(fc.constant({}), hostValue) }),
    fc.record({ type: fc.constantFrom('subscribe', 'unsubscribe'), data: subscribeData }),
    fc.record({ type: fc.oneof(fc.string({ minLength: 60, maxLength: 200 }), repeatedKey(60, 3000)), data: hostValue })
  ].map(arbitrary => fc.tuple(arbitrary, fc.option(longId, { nil: undefined })).map(([message, id]) => frameOf(JSON.stringify(id === undefined ? message : { ...message, id }))))
)

/**
 * Frames tried first whatever the seed: the reports of issue 9 (a strict
 * schema or a record echoes the client's key in INVALID_MESSAGE; TypeBox
 * escapes `/` and `~` in the path, so the reply is twice the key).
 */
function knownHostFrames (maxMessageSize: number): Frame[] {
  const keyBytes = Math.floor(maxMessageSize / 2) + 200
  return [
    frameOf(JSON.stringify({ type: 'profile.update', data: { name: 'x', ['/'.repeat(keyBytes)]: 1 }, id: 'strict' })),
    frameOf(JSON.stringify({ type: 'settings.patch', data: { ['~'.repeat(keyBytes)]: 'x' }, id: 'record' })),
    frameOf(JSON.stringify({ type: 'doc.nested', data: { meta: { k: { v: 1, ['/'.repeat(Math.floor(keyBytes / 2))]: 1 } } }, id: 'nested' })),
    frameOf(JSON.stringify({ type: 'fail.always', data: {}, id: 'i'.repeat(128) })),
    frameOf(JSON.stringify({ type: 't'.repeat(Math.min(3000, maxMessageSize - 200)), id: 'i'.repeat(128) }))
  ].filter(frame => Buffer.byteLength(frame.text) <= maxMessageSize)
}

interface FuzzServer {
  port: number
  /** Rejects as soon as the server process exits, with what it wrote to stderr. */
  exited: Promise<never>
  isAlive (): boolean
}

/** fixtures/fuzz-server.ts in its own process (the TypeScript loader comes with the inherited execArgv). */
async function forkFuzzServer (t: Teardown, maxMessageSize: number): Promise<FuzzServer> {
  const { ready, exited, isAlive } = await forkServer<{ port: number }>(t, path.join(__dirname, 'fixtures', 'fuzz-server.ts'), 'REALTIME_FUZZ_SERVER', { MAX_MESSAGE_SIZE: String(maxMessageSize) }, { stderr: 'pipe' })
  return { port: ready.port, exited, isAlive }
}

type Answer = { kind: 'reply', reply: Envelope, bytes: number } | { kind: 'close', code: number }

/** One fuzzing connection at a time: a frame that closes it gets the next frame a new one. */
class Prober {
  readonly #server: FuzzServer
  #client: TestClient | undefined
  #opened = 0

  constructor (server: FuzzServer) {
    this.#server = server
  }

  async #connection (): Promise<TestClient> {
    if (this.#client !== undefined && this.#client.ws.readyState === this.#client.ws.OPEN) return this.#client
    this.#client?.ws.terminate()
    const client = await Promise.race([openSocket(`ws://127.0.0.1:${this.#server.port}/ws/${signToken({ sub: `fuzzer-${this.#opened++}` })}`), this.#server.exited])
    await client.next('connection.established')
    this.#client = client
    return client
  }

  /** The server's answer to `text`: its reply, or the close it caused; fails at once if the process died. */
  async answer (text: string): Promise<Answer> {
    const client = await this.#connection()
    // the server's frames are JSON.stringify output, which a parse and stringify give back byte for byte
    const reply = client.next(undefined, 5000).then((message): Answer => ({ kind: 'reply', reply: message, bytes: Buffer.byteLength(JSON.stringify(message)) }))
    reply.catch(() => {})
    client.send(text)
    const answer = await Promise.race([reply, client.closed.then((info): Answer => ({ kind: 'close', code: info.code })), this.#server.exited])
    // an abnormal close is most likely the process dying: say so, with its last words, once it has exited
    if (answer.kind === 'close' && answer.code === 1006) await Promise.race([this.#server.exited, delay(2000)])
    return answer
  }

  close (): void {
    this.#client?.ws.terminate()
  }
}

const describe = (answer: Answer): string => answer.kind === 'close' ? `close ${answer.code}` : `${answer.bytes}-byte ${answer.reply.type} ${JSON.stringify(answer.reply.data).slice(0, 200)}`

/** What is wrong with `answer` to `text` on a server with this maxMessageSize, or undefined. */
function judgeHost (text: string, answer: Answer, maxMessageSize: number): string | undefined {
  if (Buffer.byteLength(text) > maxMessageSize) {
    return answer.kind === 'close' && answer.code === CloseCode.tooBig ? undefined : `a frame over maxMessageSize must close with 1009, got ${describe(answer)}`
  }
  if (answer.kind === 'close') return KNOWN_CLOSE_CODES.has(answer.code) ? undefined : `closed with ${answer.code}, not a documented close code`
  const { reply, bytes } = answer
  if (reply.type === HOST_REPLY || PROTOCOL_REPLIES.has(reply.type)) return undefined
  if (reply.type !== 'error') return `unexpected reply type ${reply.type}`
  const code = reply.data.code
  if (typeof code !== 'string' || !KNOWN_WIRE_CODES.has(code)) return `unknown error code ${String(code)}`
  if (bytes >= MAX_ERROR_REPLY_BYTES) return `a ${bytes}-byte ${code} reply: error replies built from client input must stay under ${MAX_ERROR_REPLY_BYTES} bytes`
  if (code === WireError.rateLimited) return 'rate limited: raise rateLimit.max'
  if (code === WireError.handlerError && !text.includes('"type":"fail.always"')) return 'a handler threw'
  if (reply.data.request_id !== expectedRequestId(text)) return `request_id ${String(reply.data.request_id).slice(0, 40)} does not match the frame's id`
  return undefined
}

for (const maxMessageSize of [65536, 2048]) {
  t.test(`fuzz: host types with strict schemas, records and nested objects, long keys and ids, maxMessageSize ${maxMessageSize}: every frame answered with a known code, replies bounded, process alive, bystander unaffected`, async (t) => {
    const server = await forkFuzzServer(t, maxMessageSize)
    const bystander = await openSocket(`ws://127.0.0.1:${server.port}/ws/${signToken({ sub: 'bystander' })}`)
    t.teardown(() => bystander.close())
    await bystander.next('connection.established')
    const prober = new Prober(server)
    t.teardown(() => prober.close())
    const answers: Record<string, number> = {}
    let largest = 0

    t.comment(`fast-check seed ${SEED} (FUZZ_SEED=${SEED} to replay)`)
    await fc.assert(fc.asyncProperty(hostEnvelope, async ({ text }) => {
      const answer = await prober.answer(text)
      const problem = judgeHost(text, answer, maxMessageSize)
      if (problem !== undefined) throw new Error(`${problem}: ${summary(text)}`)
      const kind = answer.kind === 'close' ? `close ${answer.code}` : (answer.reply.type === 'error' ? String(answer.reply.data.code) : answer.reply.type)
      answers[kind] = (answers[kind] ?? 0) + 1
      if (answer.kind === 'reply' && answer.reply.type === 'error') largest = Math.max(largest, answer.bytes)
    }), { numRuns: 300, seed: SEED, endOnFailure: true, examples: knownHostFrames(maxMessageSize).map(frame => [frame]) })

    t.comment(`answers: ${JSON.stringify(answers)}; largest error reply ${largest} bytes`)
    t.ok(server.isAlive(), 'the server process is still running')
    t.ok((answers[WireError.invalidMessage] ?? 0) > 0, 'host schemas refused some frames (the fuzzer reached the validator)')
    const pong = await Promise.race([bystander.request({ type: 'ping', data: { pingId: 'still here' } }, 'pong'), server.exited])
    t.equal(pong.data.pingId, 'still here', 'the bystander still answers')
    t.same(bystander.received, [], 'and was sent nothing else')
  })
}
