import t from 'tap'
import { Registry } from '../lib/registry.js'

interface Fake { id: string, userId: string, subscriptions: Set<string> }
const fake = (id: string, userId: string, events: string[] = []): Fake => ({ id, userId, subscriptions: new Set(events) })

t.test('indexes connections by id, by user (one, then several, then one again) and by event', async (t) => {
  const registry = new Registry<Fake>()
  const a1 = fake('a1', 'alice', ['x'])
  const a2 = fake('a2', 'alice')
  const b1 = fake('b1', 'bob', ['x', 'y'])
  registry.add(a1)
  registry.indexEvents(a1, a1.subscriptions)
  t.same([...(registry.forUser('alice') ?? [])], [a1])
  registry.add(a2)
  registry.add(b1)
  registry.indexEvents(b1, b1.subscriptions)
  t.equal(registry.countForUser('alice'), 2)
  t.same([...(registry.forUser('alice') ?? [])], [a1, a2])
  t.same([...(registry.subscribers('x') ?? [])], [a1, b1])
  t.same({ ...registry.subscriptionCounts() }, { x: 2, y: 1 })
  t.equal(registry.size, 3)
  t.equal(registry.userCount, 2)

  t.equal(registry.remove(a1), true)
  t.equal(registry.remove(a1), false, 'removing twice is harmless')
  t.equal(registry.countForUser('alice'), 1)
  t.same([...(registry.forUser('alice') ?? [])], [a2])
  t.same([...(registry.subscribers('x') ?? [])], [b1], 'its event entries went with it')
  registry.remove(a2)
  registry.remove(b1)
  t.equal(registry.forUser('alice'), undefined)
  t.equal(registry.countForUser('nobody'), 0)
  t.equal(registry.eventCount, 0, 'no empty event sets left behind')
  t.equal(registry.userCount, 0)
})

t.test('a third connection of a user joins the set; get finds a connection by id', async (t) => {
  const registry = new Registry<Fake>()
  const [c1, c2, c3] = [fake('c1', 'carol'), fake('c2', 'carol'), fake('c3', 'carol')]
  for (const c of [c1, c2, c3]) registry.add(c)
  t.equal(registry.countForUser('carol'), 3)
  t.same([...(registry.forUser('carol') ?? [])], [c1, c2, c3])
  t.equal(registry.get('c2'), c2)
  t.equal(registry.get('nope'), undefined)
})

t.test('an event named __proto__ is counted, not a prototype write', async (t) => {
  const registry = new Registry<Fake>()
  const c = fake('c', 'u', ['__proto__'])
  registry.add(c)
  registry.indexEvents(c, c.subscriptions)
  const counts = registry.subscriptionCounts()
  t.equal(Object.getOwnPropertyDescriptor(counts, '__proto__')?.value, 1)
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('unindexing events the connection was never indexed under changes nothing', async (t) => {
  const registry = new Registry<Fake>()
  const a = fake('a', 'alice', ['x'])
  const b = fake('b', 'bob', ['x'])
  for (const c of [a, b]) {
    registry.add(c)
    registry.indexEvents(c, c.subscriptions)
  }
  registry.unindexEvents(a, ['never-indexed', 'x'])
  t.same([...(registry.subscribers('x') ?? [])], [b], 'the indexed event lost only that connection')
  t.equal(registry.subscribers('never-indexed'), undefined, 'no empty entry made for the other')
  t.same({ ...registry.subscriptionCounts() }, { x: 1 })
})
