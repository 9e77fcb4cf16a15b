// The behaviour every history engine must have, written once and run against
// each (memory.test.ts, redis.test.ts).
import type { Test } from 'tap'
import type { HistoryEngine, HistoryOptions, StreamAppend, StreamSequence } from '../../lib/index.js'
import { channelStream, inboxStream } from '../../lib/index.js'

export interface EngineUnderTest {
  readonly engine: HistoryEngine
  /** Another node's engine on the same storage (the same engine for one that lives in one process). */
  peer (): Promise<HistoryEngine>
  /** The storage loses everything (a restart without persistence); resolves the engine to use from then. */
  loseEverything (): Promise<HistoryEngine>
  /** The clock every engine of this test reads. */
  readonly clock: { now: number }
}

export type MakeEngine = (t: Test) => Promise<EngineUnderTest>

const HISTORY: HistoryOptions = { size: 5, ttlMs: 60_000 }
const LIMIT = 300

let nextId = 0
/** A server envelope as the node builds it (no offsets). */
function envelope (n: number, channel?: string): string {
  const base = { type: 'review.updated', data: { n }, timestamp: new Date(0).toISOString(), id: `m${++nextId}` }
  return JSON.stringify(channel === undefined ? base : { ...base, channel })
}

function toChannel (channel: string, n: number, history = HISTORY): StreamAppend {
  const text = envelope(n, channel)
  return { target: { kind: 'channel', channel }, payload: text, channel: { name: channel, text, history } }
}

function toUsers (userIds: string[], n: number, history = HISTORY): StreamAppend {
  return { target: { kind: 'users', userIds }, payload: envelope(n), inbox: { userIds, history } }
}

const ns = (entries: readonly string[]): number[] => entries.map(entry => (JSON.parse(entry) as { data: { n: number } }).data.n)

export function historyConformance (t: Test, name: string, make: MakeEngine): void {
  t.test(`${name}: a new stream has an epoch and offset 0, the same on every read`, async (t) => {
    const { engine, peer } = await make(t)
    const first = await engine.read(channelStream('review:1'), HISTORY, undefined, LIMIT)
    t.match(first.position, { epoch: /^[A-Za-z0-9_-]{1,64}$/, offset: 0 })
    t.equal(first.recovered, undefined, 'no position given: no recovery')
    t.same((await (await peer()).read(channelStream('review:1'), HISTORY, undefined, LIMIT)).position, first.position, 'another node sees the same')
    t.not((await engine.read(channelStream('review:2'), HISTORY, undefined, LIMIT)).position.epoch, first.position.epoch, 'each stream its own epoch')
  })

  t.test(`${name}: offsets go up by one per message of each stream, from any node`, async (t) => {
    const { engine, peer } = await make(t)
    const other = await peer()
    const stamps: StreamSequence[] = []
    for (let n = 1; n <= 3; n++) stamps.push(await (n % 2 === 0 ? other : engine).append(toChannel('review:1', n)))
    t.same(stamps.map(s => s.channel?.offset), [1, 2, 3])
    t.equal(new Set(stamps.map(s => s.channel?.epoch)).size, 1)
    t.equal((await engine.append(toChannel('review:2', 1))).channel?.offset, 1, 'another channel counts on its own')
    const inbox = await engine.append(toUsers(['alice', 'bob'], 1))
    t.same(inbox.users?.map(s => s.offset), [1, 1], 'each inbox counts on its own')
    t.equal(inbox.channel, undefined)
    t.same((await engine.append(toUsers(['bob'], 2))).users?.map(s => s.offset), [2])
    t.equal((await engine.read(inboxStream('bob'), HISTORY, undefined, LIMIT)).position.offset, 2)
    t.equal((await engine.read(channelStream('alice'), HISTORY, undefined, LIMIT)).position.offset, 0, 'a user\'s inbox is never a channel\'s stream')
  })

  t.test(`${name}: concurrent appends from two nodes get distinct consecutive offsets`, async (t) => {
    const { engine, peer } = await make(t)
    const other = await peer()
    const appends = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? engine : other).append(toChannel('review:1', i, { size: 100, ttlMs: 60_000 })))
    const offsets = (await Promise.all(appends)).map(s => s.channel?.offset as number).sort((a, b) => a - b)
    t.same(offsets, Array.from({ length: 40 }, (_, i) => i + 1))
    const read = await engine.read(channelStream('review:1'), { size: 100, ttlMs: 60_000 }, { epoch: (await engine.read(channelStream('review:1'), HISTORY, undefined, LIMIT)).position.epoch, offset: 0 }, LIMIT)
    t.equal(read.recovered === true && read.entries.length, 40, 'every one of them stored')
  })

  t.test(`${name}: a message to a channel and to inboxes at once gets a stamp in each`, async (t) => {
    const { engine } = await make(t)
    await engine.append(toUsers(['alice'], 0))
    const text = envelope(1)
    const both = await engine.append({
      target: { kind: 'withChannel', base: { kind: 'users', userIds: ['alice', 'bob'] }, channel: 'review:1' },
      payload: text,
      channel: { name: 'review:1', text: `${text.slice(0, -1)},"channel":"review:1"}`, history: HISTORY },
      inbox: { userIds: ['alice', 'bob'], history: HISTORY }
    })
    t.equal(both.channel?.offset, 1)
    t.same(both.users?.map(s => s.offset), [2, 1])
    const inbox = await engine.read(inboxStream('alice'), HISTORY, { epoch: both.users?.[0]?.epoch as string, offset: 1 }, LIMIT)
    t.same(inbox.recovered === true && inbox.entries.map(entry => JSON.parse(entry) as unknown), [{ ...JSON.parse(text) as object, inbox: true, offset: 2 }],
      'the inbox keeps its form: inbox and the inbox offset')
    const channel = await engine.read(channelStream('review:1'), HISTORY, { epoch: both.channel?.epoch as string, offset: 0 }, LIMIT)
    t.same(channel.recovered === true && channel.entries.map(entry => JSON.parse(entry) as unknown), [{ ...JSON.parse(text) as object, channel: 'review:1', offset: 1 }],
      'the channel keeps its form: channel and the channel offset')
  })

  t.test(`${name}: recovery from a position: what followed in order, or nothing missed`, async (t) => {
    const { engine } = await make(t)
    const { epoch } = (await engine.read(channelStream('review:1'), HISTORY, undefined, LIMIT)).position
    for (let n = 1; n <= 4; n++) await engine.append(toChannel('review:1', n))
    const read = await engine.read(channelStream('review:1'), HISTORY, { epoch, offset: 1 }, LIMIT)
    t.same(read.position, { epoch, offset: 4 })
    t.equal(read.recovered, true)
    t.same(read.recovered === true && ns(read.entries), [2, 3, 4])
    t.same(read.recovered === true && read.entries.map(entry => (JSON.parse(entry) as { offset: number }).offset), [2, 3, 4], 'each with its offset')
    const none = await engine.read(channelStream('review:1'), HISTORY, { epoch, offset: 4 }, LIMIT)
    t.same(none.recovered === true && none.entries, [], 'at the top: recovered, nothing missed')
  })

  t.test(`${name}: refusals: another epoch, a position past the top, beyond size, over the limit`, async (t) => {
    const { engine } = await make(t)
    const { epoch } = (await engine.read(channelStream('review:1'), HISTORY, undefined, LIMIT)).position
    for (let n = 1; n <= 8; n++) await engine.append(toChannel('review:1', n))
    const reason = async (offset: number, limit = LIMIT, at = epoch): Promise<unknown> => {
      const read = await engine.read(channelStream('review:1'), HISTORY, { epoch: at, offset }, limit)
      return read.recovered === false ? read.reason : `recovered ${read.recovered === true ? read.entries.length : 'nothing'}`
    }
    t.equal(await reason(7, LIMIT, 'another'), 'epoch_changed')
    t.equal(await reason(9), 'epoch_changed', 'past the top: not this history')
    t.equal(await reason(2), 'too_old', 'offset 3 was pushed out by size 5')
    t.equal(await reason(3), 'recovered 5', 'the oldest kept one is still recoverable')
    t.equal(await reason(4, 3), 'too_many', 'more missed than the limit')
    t.equal(await reason(5, 3), 'recovered 3', 'exactly the limit')
    t.equal(await reason(2, 3), 'too_old', 'gone before too many')
  })

  t.test(`${name}: a message older than ttlMs is never replayed`, async (t) => {
    const { engine, clock } = await make(t)
    const history = { size: 100, ttlMs: 1000 }
    const { epoch } = (await engine.read(channelStream('review:1'), history, undefined, LIMIT)).position
    await engine.append(toChannel('review:1', 1, history))
    clock.now += 600
    await engine.append(toChannel('review:1', 2, history))
    clock.now += 500
    engine.sweep?.(clock.now)
    const old = await engine.read(channelStream('review:1'), history, { epoch, offset: 0 }, LIMIT)
    t.equal(old.recovered === false && old.reason, 'too_old', 'message 1 is 1100 ms old')
    const recent = await engine.read(channelStream('review:1'), history, { epoch, offset: 1 }, LIMIT)
    t.same(recent.recovered === true && ns(recent.entries), [2], 'message 2 is 500 ms old')
    clock.now += 2000
    engine.sweep?.(clock.now)
    const quiet = await engine.read(channelStream('review:1'), history, { epoch, offset: 2 }, LIMIT)
    t.same(quiet.position, { epoch, offset: 2 }, 'once everything expired, the position stays')
    t.equal(quiet.recovered, true, 'a client that missed nothing is recovered')
  })

  t.test(`${name}: lost history: a new epoch, and positions of the old one are epoch_changed`, async (t) => {
    const { engine, loseEverything } = await make(t)
    const before = await engine.append(toChannel('review:1', 1))
    const after = await loseEverything()
    const read = await after.read(channelStream('review:1'), HISTORY, { epoch: before.channel?.epoch as string, offset: 1 }, LIMIT)
    t.equal(read.recovered === false && read.reason, 'epoch_changed')
    t.not(read.position.epoch, before.channel?.epoch)
    t.equal(read.position.offset, 0)
    t.same((await after.append(toChannel('review:1', 2))).channel, { offset: 1, epoch: read.position.epoch }, 'the new history starts at 1')
  })
}
