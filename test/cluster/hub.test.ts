import t from 'tap'
import { ClusterHub } from '../../lib/index.js'
import { IPC_TAG, type HubRequest, type PrimaryFrame } from '../../lib/cluster/ipc-protocol.js'
import { HubPresence, type PresenceWorker } from '../../lib/cluster/hub-presence.js'
import type { PresenceChange } from '../../lib/presence/backend.js'

// The primary's state and relay, driven in-process through its frames: the
// edges that a real cluster does not reach on purpose.

interface FakeWorker { frames: PrimaryFrame[] }

function hubWith (t: { teardown (fn: () => unknown): void }, keys: string[], options = {}): { hub: ClusterHub, workers: Record<string, FakeWorker>, ask (key: string, request: HubRequest): PrimaryFrame | undefined } {
  const hub = new ClusterHub(options)
  t.teardown(() => hub.close())
  const workers: Record<string, FakeWorker> = {}
  for (const key of keys) {
    const worker: FakeWorker = { frames: [] }
    workers[key] = worker
    hub.add(key, (frame) => worker.frames.push(frame))
  }
  let id = 0
  return {
    hub,
    workers,
    /** Sends a request; answers the reply frame if it came synchronously. */
    ask (key, request) {
      const requestId = ++id
      hub.receive(key, { rt: IPC_TAG, t: 'request', id: requestId, request })
      return workers[key]?.frames.find(f => f.t === 'reply' && f.id === requestId)
    }
  }
}

const replies = (worker: FakeWorker | undefined): PrimaryFrame[] => (worker?.frames ?? []).filter(f => f.t === 'reply')

t.test('frames that are not the hub\'s, or from unknown workers, are ignored; unknown requests fail', async (t) => {
  const { hub, workers, ask } = hubWith(t, ['1'])
  hub.receive('1', 'hello')
  hub.receive('1', { rt: 'other', t: 'publish' })
  hub.receive('9', { rt: IPC_TAG, t: 'request', id: 1, request: { op: 'stats' } })
  hub.receive('1', { rt: IPC_TAG, t: 'nothing' })
  t.same(workers['1']?.frames, [], 'nothing answered')
  t.match(ask('1', { op: 'nope' } as unknown as HubRequest), { error: 'unknown request nope' })
  hub.add('1', () => { throw new Error('a second add keeps the first') })
  t.match(ask('1', { op: 'stats' }), { value: { nodes: 0, connections: 0, users: 0 } }, 'no worker said hello yet')
  hub.remove('9')
})

t.test('relay: channel messages to the workers in the channel, the rest to every started worker but the sender', async (t) => {
  const { hub, workers, ask } = hubWith(t, ['1', '2', '3'])
  ask('1', { op: 'hello', nodeId: 'n1' })
  ask('2', { op: 'hello', nodeId: 'n2' })
  // 3 never said hello: it gets nothing
  ask('2', { op: 'subscribe', channel: 'room:1' })
  ask('3', { op: 'subscribe', channel: 'room:1' })
  const deliver = (channel: string) => ({ rt: IPC_TAG, t: 'publish', message: { kind: 'deliver', target: { kind: 'channel', channel }, payload: '{}' } })
  hub.receive('1', deliver('room:1'))
  hub.receive('1', deliver('room:2'))
  hub.receive('1', { rt: IPC_TAG, t: 'publish', message: { kind: 'disconnect', userId: 'u', code: 4500, reason: 'r' } })
  const messages = (key: string) => workers[key]?.frames.filter(f => f.t === 'message').map(f => f.t === 'message' ? f.message.kind : '')
  t.same(messages('1'), [], 'never the sender')
  t.same(messages('2'), ['deliver', 'disconnect'], 'room:1 and the disconnect; room:2 has nobody')
  t.same(messages('3'), [], 'not started')
  ask('2', { op: 'unsubscribe', channel: 'room:1' })
  ask('2', { op: 'unsubscribe', channel: 'room:9' })
  t.match(ask('1', { op: 'stats' }), { value: { nodes: 2 } })
})

t.test('slots: the limit counts every worker; a release frees only a slot the worker holds', async (t) => {
  const { hub, ask } = hubWith(t, ['1', '2'])
  t.match(ask('1', { op: 'acquire', userId: 'u', connectionId: 'a', max: 2 }), { value: true })
  t.match(ask('2', { op: 'acquire', userId: 'u', connectionId: 'b', max: 2 }), { value: true })
  t.match(ask('2', { op: 'acquire', userId: 'u', connectionId: 'c', max: 2 }), { value: false })
  ask('2', { op: 'release', userId: 'u', connectionId: 'a' })
  t.match(hub.stats(), { connections: 2, users: 1 }, 'a is worker 1\'s: worker 2 cannot free it')
  ask('1', { op: 'release', userId: 'u', connectionId: 'a' })
  t.match(ask('1', { op: 'bye' }), { value: true })
  hub.remove('2')
  t.match(hub.stats(), { nodes: 0, connections: 0, users: 0 })
})

t.test('channel counts: answered by the other workers, settled by a worker gone, failed on timeout or close', async (t) => {
  const { hub, workers, ask } = hubWith(t, ['1', '2', '3'], { queryTimeoutMs: 20 })
  for (const key of ['1', '2', '3']) ask(key, { op: 'subscribe', channel: 'c' })
  t.match(ask('1', { op: 'count', channel: 'empty' }), { value: 0 }, 'nobody else in it')
  const base = replies(workers['1']).length
  ask('1', { op: 'count', channel: 'c' })
  const queryOf = (key: string) => workers[key]?.frames.findLast(f => f.t === 'countQuery') as { queryId: number } | undefined
  const queryId = queryOf('2')?.queryId as number
  hub.receive('2', { rt: IPC_TAG, t: 'counted', queryId, count: 3 })
  hub.receive('2', { rt: IPC_TAG, t: 'counted', queryId, count: 3 })
  hub.receive('1', { rt: IPC_TAG, t: 'counted', queryId: 999, count: 1 })
  t.same(replies(workers['1']).length, base, 'worker 3 has not answered')
  hub.receive('3', { rt: IPC_TAG, t: 'counted', queryId, count: 4 })
  t.match(replies(workers['1']).at(-1), { value: 7 }, 'twice from worker 2 counts once')

  ask('1', { op: 'count', channel: 'c' })
  hub.remove('2')
  hub.remove('3')
  t.match(replies(workers['1']).at(-1), { value: 0 }, 'the workers gone are not waited for')

  ask('1', { op: 'subscribe', channel: 'd' })
  ask('2', { op: 'subscribe', channel: 'd' })
  const late = hubWith(t, ['1', '2'], { queryTimeoutMs: 20 })
  late.ask('2', { op: 'subscribe', channel: 'd' })
  late.ask('1', { op: 'count', channel: 'd' })
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (replies(late.workers['1']).length > 0) { clearInterval(check); resolve() }
    }, 5)
  })
  t.match(replies(late.workers['1'])[0], { error: /not every worker answered within 20 ms/ })

  const closing = hubWith(t, ['1', '2'])
  closing.ask('2', { op: 'subscribe', channel: 'e' })
  closing.ask('1', { op: 'count', channel: 'e' })
  await closing.hub.close()
  t.match(replies(closing.workers['1']).at(-1), { error: 'the cluster primary closed' })
})

t.test('presence: off until a worker starts with it; workers must agree on the grace', async (t) => {
  const { workers, ask } = hubWith(t, ['1', '2', '3'])
  ask('1', { op: 'presence', call: 'count', scope: 'users' })
  await new Promise(resolve => setImmediate(resolve))
  t.match(replies(workers['1'])[0], { error: /presence is off/ })
  t.match(ask('2', { op: 'hello', nodeId: 'n2', offlineGraceMs: 0 }), { value: true })
  t.match(ask('3', { op: 'hello', nodeId: 'n3', offlineGraceMs: 5 }), { error: /offlineGraceMs \(5\) differs from the other workers' \(0\)/ })
  t.match(ask('1', { op: 'hello', nodeId: 'n1', offlineGraceMs: 0 }), { value: true })
  const presence = async (key: string, request: HubRequest): Promise<unknown> => {
    ask(key, request)
    await new Promise(resolve => setImmediate(resolve))
    const last = replies(workers[key]).at(-1)
    return last !== undefined && 'value' in last ? last.value : undefined
  }
  await presence('1', { op: 'presence', call: 'join', userId: 'u', connectionId: 'a', scopes: ['users'] })
  await presence('1', { op: 'presence', call: 'join', userId: 'u', connectionId: 'a', scopes: ['channel:room:1'] })
  t.equal(await presence('2', { op: 'presence', call: 'isPresent', scope: 'users', userId: 'u' }), true)
  t.same(await presence('2', { op: 'presence', call: 'presentAmong', scope: 'users', userIds: ['x', 'u'] }), ['u'])
  t.match(await presence('2', { op: 'presence', call: 'members', scope: 'users', limit: 5 }), { total: 1, members: [{ userId: 'u', connections: 1 }] })
  await presence('1', { op: 'presence', call: 'leave', userId: 'u', connectionId: 'a', scopes: ['users'] })
  await presence('1', { op: 'presence', call: 'leave', userId: 'u', connectionId: 'gone', scopes: ['users'] })
  t.equal(await presence('2', { op: 'presence', call: 'count', scope: 'channel:room:1' }), 1, 'still in the channel')
  const announced = (key: string) => workers[key]?.frames.filter(f => f.t === 'presence').map(f => f.t === 'presence' ? `${f.change.scope} ${f.change.status}` : '')
  t.same(announced('1'), ['users online', 'channel:room:1 online', 'users offline'], 'the worker that decided announces')
  t.same(announced('2'), [])
})

t.test('history: an append gets its offsets in the primary and goes to every worker concerned, the sender too', async (t) => {
  const { workers, ask } = hubWith(t, ['1', '2'])
  ask('1', { op: 'hello', nodeId: 'n1' })
  ask('2', { op: 'hello', nodeId: 'n2' })
  ask('2', { op: 'subscribe', channel: 'review:1' })
  const history = { size: 5, ttlMs: 60_000 }
  ask('1', { op: 'history', call: 'append', message: { target: { kind: 'channel', channel: 'review:1' }, payload: '{"a":1}', channel: { name: 'review:1', text: '{"a":1}', history } } })
  ask('1', { op: 'history', call: 'append', message: { target: { kind: 'users', userIds: ['u'] }, payload: '{"b":1}', inbox: { userIds: ['u'], history } } })
  await new Promise(resolve => setImmediate(resolve))
  const seqs = replies(workers['1']).filter(f => 'value' in f && typeof f.value === 'object').map(f => 'value' in f ? f.value : undefined)
  t.match(seqs, [{ channel: { offset: 1 } }, { users: [{ offset: 1 }] }])
  t.same(workers['1']?.frames.filter(f => f.t === 'message').length, 1, 'the sender gets the inbox message (it is for every worker), not the channel one it is not in')
  t.same(workers['2']?.frames.filter(f => f.t === 'message').length, 2)
  ask('2', { op: 'history', call: 'read', stream: 'c:review:1', history, since: undefined, limit: 10 })
  await new Promise(resolve => setImmediate(resolve))
  t.match(replies(workers['2']).at(-1), { value: { position: { offset: 1 } } })
})

t.test('hub presence: a change its grace timer decides goes to the last leaver, or to a living worker', async (t) => {
  const log = { child: () => log, fatal () {}, error () {}, warn () {}, info () {}, debug () {}, trace () {}, silent () {}, level: 'silent' }
  const heard: Array<[string, PresenceChange]> = []
  const worker = (name: string): PresenceWorker & { isAlive: boolean } => ({ isAlive: true, announce: (change) => heard.push([name, change]) })
  const a = worker('a')
  const b = worker('b')
  let living: PresenceWorker | undefined = b
  const presence = new HubPresence(10, log, () => living)
  t.teardown(() => presence.close())
  const offline = (userId: string) => new Promise<string>((resolve) => {
    const check = setInterval(() => {
      const found = heard.find(([, change]) => change.userId === userId && change.status === 'offline')
      if (found !== undefined) { clearInterval(check); resolve(found[0]) }
    }, 2)
  })
  presence.join(a, 'u', 'c1', ['users'])
  presence.leave(a, 'u', 'c1', ['users'])
  t.equal(await offline('u'), 'a', 'the last leaver')
  presence.join(a, 'v', 'c2', ['users'])
  presence.leave(a, 'v', 'c2', ['users'])
  a.isAlive = false
  t.equal(await offline('v'), 'b', 'the last leaver is gone: a living worker')
  presence.join(b, 'w', 'c3', ['users'])
  presence.leave(undefined, 'w', 'c3', ['users'])
  living = undefined
  t.equal(await presence.count('users'), 1, 'in the grace')
  await new Promise<void>((resolve) => {
    const check = setInterval(() => { void presence.count('users').then(n => { if (n === 0) { clearInterval(check); resolve() } }) }, 2)
  })
  t.notOk(heard.some(([, change]) => change.userId === 'w' && change.status === 'offline'), 'no worker left: nobody to tell')
})

t.test('a grace timer\'s change, its last leaver gone: the first started worker announces it, or nobody', async (t) => {
  const { hub, workers, ask } = hubWith(t, ['3', '1', '2'])
  ask('1', { op: 'hello', nodeId: 'n1', offlineGraceMs: 10 })
  ask('2', { op: 'hello', nodeId: 'n2', offlineGraceMs: 10 })
  const settle = () => new Promise(resolve => setImmediate(resolve))
  ask('1', { op: 'presence', call: 'join', userId: 'u', connectionId: 'a', scopes: ['users'] })
  ask('1', { op: 'presence', call: 'leave', userId: 'u', connectionId: 'a', scopes: ['users'] })
  await settle()
  hub.remove('1')
  await new Promise<void>((resolve) => {
    const check = setInterval(() => { if (workers['2']?.frames.some(f => f.t === 'presence')) { clearInterval(check); resolve() } }, 5)
  })
  t.match(workers['2']?.frames.find(f => f.t === 'presence'), { change: { userId: 'u', status: 'offline' } }, 'worker 2, not the unstarted 3')
  ask('2', { op: 'presence', call: 'join', userId: 'v', connectionId: 'b', scopes: ['users'] })
  ask('2', { op: 'presence', call: 'leave', userId: 'v', connectionId: 'b', scopes: ['users'] })
  await settle()
  hub.remove('2')
  // the grace ends with nobody started to announce it: wait for the count to drop
  for (;;) {
    ask('3', { op: 'presence', call: 'count', scope: 'users' })
    await settle()
    const last = replies(workers['3']).at(-1)
    if (last !== undefined && 'value' in last && last.value === 0) break
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  t.same(workers['3']?.frames.filter(f => f.t === 'presence'), [], 'the unstarted worker is never told')
})
