import t from 'tap'
import { UserSlots } from '../../lib/adapters/user-slots.js'

t.test('UserSlots: at most max slots per user, given back one by one, counted across users', async (t) => {
  const slots = new UserSlots()
  t.same(slots.counts(), { connections: 0, users: 0 }, 'empty')
  t.ok(slots.acquire('alice', 'a1', 2))
  t.ok(slots.acquire('alice', 'a2', 2))
  t.notOk(slots.acquire('alice', 'a3', 2), 'a third is refused at max 2')
  t.ok(slots.acquire('bob', 'b1', 2))
  t.same(slots.counts(), { connections: 3, users: 2 }, 'the refused one holds nothing')
  slots.release('alice', 'a1')
  t.ok(slots.acquire('alice', 'a3', 2), 'a slot given back is free again')
  slots.release('carol', 'c1')
  slots.release('bob', 'never-claimed')
  t.same(slots.counts(), { connections: 3, users: 2 }, 'releasing what was never claimed changes nothing')
  slots.release('bob', 'b1')
  t.same(slots.counts(), { connections: 2, users: 1 }, 'a user with no slot left is not counted')
})
