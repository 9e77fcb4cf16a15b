#!/usr/bin/env node
// Issue 15: the cost of one pong's envelope, serialized in several ways, in
// this process (nanoseconds per envelope; the median of REPS repetitions of
// COUNT envelopes each). It shows why lib/protocol/serializers.ts is written
// as it is: a template around data compiled by fast-json-stringify, not an
// envelope compiled whole by it.
//
//   npm run build && node bench/serializers-micro.mjs [--count=500000] [--reps=5]
import { createRequire } from 'node:module'
import { randomUUID } from 'node:crypto'
import { loadavg } from 'node:os'
import { parseArgs, median } from './lib/common.mjs'

const require = createRequire(import.meta.url)
const build = require('fast-json-stringify')
const { PongData, serializeEnvelope, serializerSchema } = require('../dist/protocol/serializers.js')
const { PongSchema } = require('../dist/protocol/server-messages.js')
const { isoNow } = require('../dist/timestamp.js')

const args = parseArgs()
const COUNT = Number(args.count ?? 500_000)
const REPS = Number(args.reps ?? 5)

const wholeEnvelope = build({
  type: 'object',
  properties: { type: { const: 'pong' }, data: serializerSchema(PongSchema), timestamp: { type: 'string' }, id: { type: 'string' } },
  required: ['type', 'data', 'timestamp', 'id']
})
const pongData = build(serializerSchema(PongSchema))

const variants = {
  'before: JSON.stringify of the envelope object, two toISOString': (i) =>
    JSON.stringify({ type: 'pong', data: { timestamp: new Date().toISOString(), pingId: i }, timestamp: new Date().toISOString(), id: randomUUID() }),
  'JSON.stringify of the envelope object, isoNow': (i) =>
    JSON.stringify({ type: 'pong', data: { timestamp: isoNow(), pingId: i }, timestamp: isoNow(), id: randomUUID() }),
  'fast-json-stringify of the whole envelope, isoNow': (i) =>
    wholeEnvelope({ type: 'pong', data: new PongData(isoNow(), i), timestamp: isoNow(), id: randomUUID() }),
  'after: serializeEnvelope (template, compiled pong data)': (i) => serializeEnvelope('pong', new PongData(isoNow(), i), undefined),
  'pong data alone: JSON.stringify': (i) => JSON.stringify({ timestamp: '2026-12-02T00:00:00.000Z', pingId: i }),
  'pong data alone: fast-json-stringify': (i) => pongData(new PongData('2026-12-02T00:00:00.000Z', i))
}

function time (fn) {
  let bytes = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < COUNT; i++) bytes += fn(i).length
  const ns = Number(process.hrtime.bigint() - start) / COUNT
  if (bytes === 0) throw new Error('nothing written')
  return ns
}

const results = Object.fromEntries(Object.keys(variants).map((name) => [name, []]))
for (const fn of Object.values(variants)) time(fn) // warm up every variant first
for (let rep = 0; rep < REPS; rep++) {
  for (const [name, fn] of Object.entries(variants)) results[name].push(time(fn))
}
console.log(`${COUNT} envelopes x ${REPS} reps, Node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
for (const [name, values] of Object.entries(results)) {
  console.log(`${median(values).toFixed(0).padStart(6)} ns  [${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}]  ${name}`)
}
