import { randomBytes } from 'node:crypto'

/** A review of the demo: an owner, a title and the users allowed to see it. */
export interface Review {
  readonly id: string
  readonly title: string
  readonly ownerId: string
  /** The owner is always one of them. */
  readonly members: ReadonlySet<string>
}

/** What a membership change came to; the routes turn each outcome into a status. */
export type MembershipResult =
  | { outcome: 'done', review: Review }
  | { outcome: 'not-found' }
  | { outcome: 'not-owner' }
  | { outcome: 'owner-stays' }
  | { outcome: 'too-many-members' }

export interface ReviewStoreOptions {
  /** Reviews kept at most; the oldest is forgotten past it (the demo's memory stays bounded). */
  maxReviews?: number
  maxMembersPerReview?: number
  /** Told of a review the store forgot, so that its channel's subscribers can be let go. */
  onForget?: (review: Review) => void
}

interface StoredReview {
  id: string
  title: string
  ownerId: string
  members: Set<string>
}

/**
 * The example's reviews, in memory: who owns each one and who may see it.
 * The `review` channel namespace asks it whether a connection's user is a member.
 */
export class ReviewStore {
  // a Map keeps insertion order: the first key is the oldest review
  readonly #reviews = new Map<string, StoredReview>()
  readonly #maxReviews: number
  readonly #maxMembersPerReview: number
  readonly #onForget: ((review: Review) => void) | undefined

  constructor ({ maxReviews = 10_000, maxMembersPerReview = 100, onForget }: ReviewStoreOptions = {}) {
    this.#maxReviews = maxReviews
    this.#maxMembersPerReview = maxMembersPerReview
    this.#onForget = onForget
  }

  /** A new review owned by `ownerId`, its first member. */
  create (ownerId: string, title: string): Review {
    let id = newReviewId()
    while (this.#reviews.has(id)) id = newReviewId()
    const review: StoredReview = { id, title, ownerId, members: new Set([ownerId]) }
    this.#reviews.set(id, review)
    if (this.#reviews.size > this.#maxReviews) {
      const oldest = this.#reviews.values().next().value
      if (oldest !== undefined) {
        this.#reviews.delete(oldest.id)
        this.#onForget?.(oldest)
      }
    }
    return review
  }

  get (reviewId: string): Review | undefined {
    return this.#reviews.get(reviewId)
  }

  isMember (reviewId: string, userId: string): boolean {
    return this.#reviews.get(reviewId)?.members.has(userId) ?? false
  }

  /** Only the owner adds members; adding a member twice is not an error. */
  addMember (reviewId: string, callerId: string, userId: string): MembershipResult {
    const review = this.#reviews.get(reviewId)
    if (review === undefined) return { outcome: 'not-found' }
    if (review.ownerId !== callerId) return { outcome: 'not-owner' }
    if (!review.members.has(userId) && review.members.size >= this.#maxMembersPerReview) return { outcome: 'too-many-members' }
    review.members.add(userId)
    return { outcome: 'done', review }
  }

  /** Only the owner removes members, and never themselves (a review always has its owner). */
  removeMember (reviewId: string, callerId: string, userId: string): MembershipResult {
    const review = this.#reviews.get(reviewId)
    if (review === undefined) return { outcome: 'not-found' }
    if (review.ownerId !== callerId) return { outcome: 'not-owner' }
    if (userId === review.ownerId) return { outcome: 'owner-stays' }
    review.members.delete(userId)
    return { outcome: 'done', review }
  }
}

/** `rv-` and 12 hex digits: short enough to read out, and a valid channel id (`review:rv-…`). */
function newReviewId (): string {
  return `rv-${randomBytes(6).toString('hex')}`
}
