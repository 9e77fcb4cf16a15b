// The example's channels over HTTP and real sockets: reviews private to
// their members (create, add, remove and revoke), uploads to their uploader,
// and the open lobby.
import t from 'tap'
import { startExample, receivedBeforePong, subscribeTo as subscribe, type Example } from './helpers/example.js'

async function createReview (example: Example, token: string, title = 'Q3 budget'): Promise<string> {
  const created = await example.post('/api/v1/reviews', { title }, token)
  if (created.status !== 201) throw new Error(`POST /reviews answered ${created.status}`)
  return created.body.review_id as string
}

t.test('POST /reviews: 201, the caller owns it and is its first member', async (t) => {
  const example = await startExample(t)
  const alice = await example.login('alice')
  const created = await example.post('/api/v1/reviews', { title: 'Q3 budget' }, alice)
  t.equal(created.status, 201)
  t.match(created.body, { review_id: /^rv-[0-9a-f]{12}$/, title: 'Q3 budget', owner_id: 'alice', members: ['alice'] })
  t.not((await example.post('/api/v1/reviews', { title: 'another' }, alice)).body.review_id, created.body.review_id, 'each review its own id')

  t.equal((await example.post('/api/v1/reviews', { title: '' }, alice)).status, 400, 'a title is required')
  t.equal((await example.post('/api/v1/reviews', { title: 'x'.repeat(201) }, alice)).status, 400, 'a title is bounded')
  t.match(await example.post('/api/v1/reviews', { title: 'x', owner_id: 'mallory' }, alice), { status: 201, body: { owner_id: 'alice' } }, 'the caller owns it, whatever the body says')
  t.equal((await example.post('/api/v1/reviews', { title: 'x' })).status, 401, 'a token is required')
})

t.test('members: the owner adds and removes; anyone else 403; an unknown review 404', async (t) => {
  const example = await startExample(t)
  const alice = await example.login('alice')
  const bob = await example.login('bob')
  const reviewId = await createReview(example, alice)
  const members = `/api/v1/reviews/${reviewId}/members`

  const added = await example.post(members, { userId: 'bob' }, alice)
  t.same(added, { status: 200, body: { review_id: reviewId, title: 'Q3 budget', owner_id: 'alice', members: ['alice', 'bob'] } })
  t.same((await example.post(members, { userId: 'bob' }, alice)).body.members, ['alice', 'bob'], 'adding twice is no error')

  const byMember = await example.post(members, { userId: 'carol' }, bob)
  t.match(byMember, { status: 403, body: { code: 'REVIEW_NOT_OWNER' } }, 'a member is not the owner')
  t.match(await example.request('DELETE', `${members}/alice`, undefined, bob), { status: 403, body: { code: 'REVIEW_NOT_OWNER' } })
  t.match(await example.post('/api/v1/reviews/rv-000000000000/members', { userId: 'bob' }, alice), { status: 404, body: { code: 'REVIEW_NOT_FOUND' } })
  t.match(await example.request('DELETE', '/api/v1/reviews/rv-000000000000/members/bob', undefined, alice), { status: 404 })
  t.match(await example.request('DELETE', `${members}/alice`, undefined, alice), { status: 409, body: { code: 'REVIEW_OWNER_STAYS' } })
  t.equal((await example.post(members, { userId: 'not a user id' }, alice)).status, 400)
  t.equal((await example.post('/api/v1/reviews/not%20a%20channel%20id/changes', { changes: {} }, alice)).status, 400, 'a review id is a channel id')
  t.equal((await example.post(members, { userId: 'bob' })).status, 401)

  const removed = await example.request('DELETE', `${members}/bob`, undefined, alice)
  t.same(removed, { status: 200, body: { review_id: reviewId, title: 'Q3 budget', owner_id: 'alice', members: ['alice'], revoked: 0 } }, 'bob had no connection to revoke')
})

t.test('a member subscribes to review:<id> and gets its changes; a non-member is refused and gets nothing', async (t) => {
  const example = await startExample(t)
  const alice = await example.connect('alice')
  const bob = await example.connect('bob')
  const mallory = await example.connect('mallory')
  const reviewId = await createReview(example, alice.token)
  const channel = `review:${reviewId}`
  await example.post(`/api/v1/reviews/${reviewId}/members`, { userId: 'bob' }, alice.token)

  t.match(await subscribe(bob.client, [channel]), { type: 'subscription.confirmed', data: { channels: [channel], channel_subscriptions: [channel] } })
  const refused = await subscribe(mallory.client, [channel])
  t.match(refused, { type: 'error', data: { code: 'CHANNEL_FORBIDDEN', details: [channel], reasons: ['not a member of this review'] } })
  // mallory listens to the review.updated event: a private review's changes still never reach her
  await mallory.client.request({ type: 'subscribe', data: { events: ['review.updated'] } }, 'subscription.confirmed')

  const posted = await example.post(`/api/v1/reviews/${reviewId}/changes`, { changes: { status: 'approved' } }, bob.token)
  t.same(posted, { status: 200, body: { delivered: 1 } }, 'a member posts; bob is the one subscriber')
  t.match(await bob.client.next('review.updated'), { channel, data: { review_id: reviewId, changes: { status: 'approved' } } })
  t.same(await receivedBeforePong(mallory.client, 'review.updated'), [], 'nothing for a non-member')
  t.same(await receivedBeforePong(alice.client, 'review.updated'), [], 'nor for a member who did not subscribe')

  t.match(await example.post(`/api/v1/reviews/${reviewId}/changes`, { changes: { status: 'hacked' } }, mallory.token), { status: 403, body: { code: 'REVIEW_NOT_MEMBER' } })
  t.match(await example.post(`/api/v1/reviews/${reviewId}/changes`, { changes: {}, targetUsers: ['mallory'] }, alice.token), { status: 400, body: { code: 'REVIEW_TARGETS_REFUSED' } })
  t.same(await receivedBeforePong(mallory.client, 'review.updated'), [], 'refused posts deliver nothing')
  t.same(await receivedBeforePong(bob.client, 'review.updated'), [])
})

t.test('removing a member revokes: subscription.ended reason revoked, no more changes, no way back in', async (t) => {
  const example = await startExample(t)
  const alice = await example.connect('alice')
  const bob = await example.connect('bob')
  const bobOtherTab = await example.connect('bob')
  const reviewId = await createReview(example, alice.token)
  const channel = `review:${reviewId}`
  await example.post(`/api/v1/reviews/${reviewId}/members`, { userId: 'bob' }, alice.token)
  for (const client of [alice.client, bob.client, bobOtherTab.client]) {
    t.match(await subscribe(client, [channel]), { type: 'subscription.confirmed' })
  }

  const ended = [bob.client.next('subscription.ended'), bobOtherTab.client.next('subscription.ended')]
  const removed = await example.request('DELETE', `/api/v1/reviews/${reviewId}/members/bob`, undefined, alice.token)
  t.match(removed, { status: 200, body: { members: ['alice'], revoked: 2 } }, 'both of bob\'s connections')
  for (const message of await Promise.all(ended)) t.same(message.data, { channel, reason: 'revoked' })

  t.same(await example.post(`/api/v1/reviews/${reviewId}/changes`, { changes: { status: 'final' } }, alice.token), { status: 200, body: { delivered: 1 } })
  t.match((await alice.client.next('review.updated')).data, { changes: { status: 'final' } }, 'alice still gets the changes')
  t.same(await receivedBeforePong(bob.client, 'review.updated'), [], 'bob does not')
  t.match(await subscribe(bob.client, [channel]), { type: 'error', data: { code: 'CHANNEL_FORBIDDEN' } }, 'and cannot subscribe again')
  t.match(await example.post(`/api/v1/reviews/${reviewId}/changes`, { changes: {} }, bob.token), { status: 403 }, 'nor post')
})

t.test('a review the store forgets (past maxReviews) ends its channel for its members', async (t) => {
  const example = await startExample(t, {}, { maxReviews: 1 })
  const alice = await example.connect('alice')
  const first = await createReview(example, alice.token, 'first')
  t.match(await subscribe(alice.client, [`review:${first}`]), { type: 'subscription.confirmed' })
  const ended = alice.client.next('subscription.ended')
  await createReview(example, alice.token, 'second')
  t.same((await ended).data, { channel: `review:${first}`, reason: 'deleted' })
  t.match(await example.post(`/api/v1/reviews/${first}/members`, { userId: 'bob' }, alice.token), { status: 404 })
})

t.test('lobby messages reach lobby subscribers only, signed with the sender; other namespaces are closed to callers', async (t) => {
  const example = await startExample(t)
  const alice = await example.connect('alice')
  const bob = await example.connect('bob')
  const carol = await example.connect('carol')
  t.match(await subscribe(alice.client, ['lobby:general']), { type: 'subscription.confirmed' }, 'the lobby is open to everyone')
  t.match(await subscribe(bob.client, ['lobby:general']), { type: 'subscription.confirmed' })
  t.match(await subscribe(carol.client, ['lobby:random']), { type: 'subscription.confirmed' })

  const sent = await example.post('/api/v1/channels/lobby:general/messages', { type: 'chat.message', data: { text: 'hi all', sender_id: 'mallory' } }, alice.token)
  t.same(sent, { status: 200, body: { delivered: 2 } })
  for (const client of [alice.client, bob.client]) {
    t.match(await client.next('chat.message'), { channel: 'lobby:general', data: { text: 'hi all', sender_id: 'alice' } }, 'the sender is the caller, whatever the body says')
  }
  t.same(await receivedBeforePong(carol.client, 'chat.message'), [], 'another lobby channel gets nothing')

  const reviewId = await createReview(example, alice.token)
  t.match(await example.post(`/api/v1/channels/review:${reviewId}/messages`, { type: 'chat.message', data: {} }, alice.token), { status: 403, body: { code: 'CHANNEL_NOT_OPEN' } })
  t.match(await example.post('/api/v1/channels/team:7/messages', { type: 'chat.message', data: {} }, alice.token), { status: 403 }, 'an undeclared namespace')
  t.equal((await example.post('/api/v1/channels/lobby:general/messages', { type: 'subscription.ended', data: { channel: 'lobby:general', reason: 'revoked' } }, alice.token)).status, 400, 'no server message types')
  t.equal((await example.post('/api/v1/channels/lobby/messages', { type: 'chat.message', data: {} }, alice.token)).status, 400, 'not a channel name')
  t.equal((await example.post('/api/v1/channels/lobby:general/messages', { type: 'chat.message', data: { text: 'x'.repeat(20_000) } }, alice.token)).status, 413)
  t.equal((await example.post('/api/v1/channels/lobby:general/messages', { type: 'chat.message', data: {} })).status, 401)
  t.same(await receivedBeforePong(bob.client, 'chat.message'), [], 'none of the refused messages went out')
  t.same(await receivedBeforePong(bob.client, 'subscription.ended'), [])
})

t.test('an upload\'s channel admits its uploader only, and carries that upload\'s progress', async (t) => {
  // steps slow enough that the upload is still running when the test subscribes
  const example = await startExample(t, {}, { uploadStepMs: 500 })
  const alice = await example.connect('alice')
  const bob = await example.connect('bob')
  const started = await example.post('/api/v1/uploads', { totalBytes: 1000 }, alice.token)
  const uploadId = started.body.upload_id as string
  const channel = `upload:${uploadId}`
  t.match(await subscribe(bob.client, [channel]), { type: 'error', data: { code: 'CHANNEL_FORBIDDEN', reasons: ['not your upload'] } })
  t.match(await subscribe(bob.client, ['upload:upload_unknown']), { type: 'error', data: { code: 'CHANNEL_FORBIDDEN' } }, 'an unknown upload alike')
  t.match(await subscribe(alice.client, [channel]), { type: 'subscription.confirmed', data: { channels: [channel] } })

  // alice subscribed to the channel, not to the upload.progress event
  t.match(await alice.client.next('upload.progress'), { channel, data: { upload_id: uploadId } })
  const cancelled = await alice.client.request({ type: 'upload.cancel', data: { upload_id: uploadId } }, 'upload.cancelled')
  t.equal(cancelled.channel, undefined, 'upload.cancelled goes to every connection of the uploader, not through the channel')
  t.same(await receivedBeforePong(alice.client, 'upload.cancelled'), [], 'so once')
  t.same(await receivedBeforePong(bob.client, 'upload.progress'), [], 'bob got none of it')
})

t.test('history: review and lobby channels (and the inbox) carry offsets and positions; upload channels do not', async (t) => {
  const example = await startExample(t)
  const alice = await example.connect('alice')
  const reviewId = await createReview(example, alice.token)
  const confirmed = await subscribe(alice.client, [`review:${reviewId}`, 'lobby:general'])
  t.match(confirmed.data.positions, { [`review:${reviewId}`]: { epoch: String, offset: 0 }, 'lobby:general': { epoch: String, offset: 0 } })
  await example.post(`/api/v1/reviews/${reviewId}/changes`, { changes: { status: 'ok' } }, alice.token)
  t.match(await alice.client.next('review.updated'), { channel: `review:${reviewId}`, offset: 1 })
  await example.post('/api/v1/notifications', { message: 'to alice', targetUsers: ['alice'] }, alice.token)
  t.match(await alice.client.next('system.notification'), { inbox: true, offset: 1 }, 'a targeted notification is in the inbox')
  const uploadId = (await example.post('/api/v1/uploads', { totalBytes: 10 }, alice.token)).body.upload_id as string
  const upload = await subscribe(alice.client, [`upload:${uploadId}`])
  t.equal(upload.data.positions, undefined, 'an upload\'s progress keeps no history')
})
