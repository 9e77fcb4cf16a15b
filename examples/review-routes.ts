import type { FastifyInstance, FastifyRequest } from 'fastify'
import createError from '@fastify/error'
import { Type, type Static } from '@sinclair/typebox'
import { Namespace } from './channels.js'
import { UserIdSchema, callerOf, Delivered } from './http.js'
import type { Review, ReviewStore, MembershipResult } from './reviews.js'

// a review id is the id of its channel (review:<id>), so it has the channel id's alphabet
const ReviewId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.@=-]+$' })
const ReviewParams = Type.Object({ reviewId: ReviewId })
const MemberParams = Type.Object({ reviewId: ReviewId, userId: UserIdSchema })
const CreateBody = Type.Object({ title: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })
const MemberBody = Type.Object({ userId: UserIdSchema }, { additionalProperties: false })
const ChangesBody = Type.Object({
  changes: Type.Record(Type.String(), Type.Unknown()),
  targetUsers: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 1000 }))
}, { additionalProperties: false })
const ReviewView = Type.Object({
  review_id: Type.String(),
  title: Type.String(),
  owner_id: Type.String(),
  members: Type.Array(Type.String())
})
const Revoked = Type.Object({ ...ReviewView.properties, revoked: Type.Integer() })

const ReviewNotFound = createError('REVIEW_NOT_FOUND', 'No such review', 404)
const NotReviewOwner = createError('REVIEW_NOT_OWNER', 'Only the owner of the review may change its members', 403)
const NotReviewMember = createError('REVIEW_NOT_MEMBER', 'Only the members of the review may post its changes', 403)
const OwnerStays = createError('REVIEW_OWNER_STAYS', 'The owner of a review cannot be removed from it', 409)
const TooManyMembers = createError('REVIEW_TOO_MANY_MEMBERS', 'The review has as many members as it may have', 409)
const TargetsOnPrivateReview = createError('REVIEW_TARGETS_REFUSED', 'targetUsers applies to reviews outside the store only: a stored review goes to its members', 400)

/** Changes and membership bodies are small: refused by Fastify (413) well before maxMessageSize. */
const BODY_LIMIT = 32 * 1024

function view (review: Review): Static<typeof ReviewView> {
  return { review_id: review.id, title: review.title, owner_id: review.ownerId, members: [...review.members] }
}

function reviewOf (result: MembershipResult): Review {
  switch (result.outcome) {
    case 'done': return result.review
    case 'not-found': throw new ReviewNotFound()
    case 'not-owner': throw new NotReviewOwner()
    case 'owner-stays': throw new OwnerStays()
    case 'too-many-members': throw new TooManyMembers()
  }
}

export function reviewChannel (reviewId: string): string {
  return `${Namespace.review}:${reviewId}`
}

/**
 * The review routes, registered where the caller is authenticated: create a
 * review, change its members (owner only; a removal revokes the member's
 * subscriptions on every node), and post its changes.
 */
export function reviewRoutes (secured: FastifyInstance, reviews: ReviewStore): void {
  const { realtime } = secured

  secured.post<{ Body: Static<typeof CreateBody> }>('/reviews', {
    bodyLimit: BODY_LIMIT,
    schema: { body: CreateBody, response: { 201: ReviewView } }
  }, async (request, reply) => {
    reply.code(201)
    return view(reviews.create(callerOf(request), request.body.title))
  })

  secured.post<{ Params: Static<typeof ReviewParams>, Body: Static<typeof MemberBody> }>('/reviews/:reviewId/members', {
    bodyLimit: BODY_LIMIT,
    schema: { params: ReviewParams, body: MemberBody, response: { 200: ReviewView } }
  }, async (request) => view(reviewOf(reviews.addMember(request.params.reviewId, callerOf(request), request.body.userId))))

  secured.delete<{ Params: Static<typeof MemberParams> }>('/reviews/:reviewId/members/:userId', {
    schema: { params: MemberParams, response: { 200: Revoked } }
  }, async (request) => {
    const { reviewId, userId } = request.params
    const review = reviewOf(reviews.removeMember(reviewId, callerOf(request), userId))
    // the member is out of the store first, so a subscribe racing this leave is refused by authorize
    const revoked = await realtime.leave({ userId }, reviewChannel(reviewId), 'revoked')
    return { ...view(review), revoked }
  })

  secured.post<{ Params: Static<typeof ReviewParams>, Body: Static<typeof ChangesBody> }>('/reviews/:reviewId/changes', {
    bodyLimit: BODY_LIMIT,
    schema: { params: ReviewParams, body: ChangesBody, response: { 200: Delivered } }
  }, async (request) => ({ delivered: await postChanges(request, reviews) }))
}

/**
 * A review of the store is private: only its members post changes, and they
 * go to the subscribers of its channel (whom authorize admitted) and nobody
 * else. Any other review id keeps the seed's behaviour: review.updated to the
 * targetUsers, or to every subscriber of the review.updated event.
 */
async function postChanges (request: FastifyRequest<{ Params: Static<typeof ReviewParams>, Body: Static<typeof ChangesBody> }>, reviews: ReviewStore): Promise<number> {
  const { realtime } = request.server
  const { reviewId } = request.params
  const { changes, targetUsers } = request.body
  const review = reviews.get(reviewId)
  if (review === undefined) return realtime.broadcastReviewUpdated(reviewId, changes, targetUsers)
  if (!review.members.has(callerOf(request))) throw new NotReviewMember()
  if (targetUsers !== undefined) throw new TargetsOnPrivateReview()
  return realtime.publish(reviewChannel(reviewId), {
    type: 'review.updated',
    data: { review_id: reviewId, changes, timestamp: new Date().toISOString() }
  })
}
