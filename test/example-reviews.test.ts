// The example's review store alone: ownership, membership and its bound.
import t from 'tap'
import { ReviewStore, type Review } from '../examples/reviews.js'

t.test('the owner is the first member; only the owner changes members, never removing themselves', async (t) => {
  const store = new ReviewStore()
  const review = store.create('alice', 'Q3')
  t.same({ ...review, members: [...review.members] }, { id: review.id, title: 'Q3', ownerId: 'alice', members: ['alice'] })
  t.ok(store.isMember(review.id, 'alice'))
  t.notOk(store.isMember(review.id, 'bob'))
  t.notOk(store.isMember('rv-unknown', 'alice'), 'an unknown review has no members')

  t.equal(store.addMember(review.id, 'bob', 'bob').outcome, 'not-owner', 'nobody adds themselves')
  t.equal(store.addMember(review.id, 'alice', 'bob').outcome, 'done')
  t.ok(store.isMember(review.id, 'bob'))
  t.equal(store.removeMember(review.id, 'bob', 'alice').outcome, 'not-owner', 'a member removes nobody')
  t.equal(store.removeMember(review.id, 'alice', 'alice').outcome, 'owner-stays')
  t.equal(store.removeMember(review.id, 'alice', 'bob').outcome, 'done')
  t.notOk(store.isMember(review.id, 'bob'))
  t.equal(store.addMember('rv-unknown', 'alice', 'bob').outcome, 'not-found')
  t.equal(store.removeMember('rv-unknown', 'alice', 'bob').outcome, 'not-found')
  t.notOk(store.isMember(review.id, '__proto__'), 'no prototype key is a member')
})

t.test('members and reviews are bounded; the oldest review is forgotten and reported', async (t) => {
  const forgotten: Review[] = []
  const store = new ReviewStore({ maxReviews: 2, maxMembersPerReview: 2, onForget: (review) => forgotten.push(review) })
  const first = store.create('alice', 'one')
  t.equal(store.addMember(first.id, 'alice', 'bob').outcome, 'done')
  t.equal(store.addMember(first.id, 'alice', 'carol').outcome, 'too-many-members')
  t.equal(store.addMember(first.id, 'alice', 'bob').outcome, 'done', 'a member again is no new member')
  const second = store.create('alice', 'two')
  t.same(forgotten, [])
  store.create('bob', 'three')
  t.same(forgotten.map(review => review.id), [first.id])
  t.equal(store.get(first.id), undefined)
  t.ok(store.get(second.id))
})
