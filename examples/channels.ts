import type { RealtimeOptions } from 'fastify-realtime'
import type { ReviewStore } from './reviews.js'
import type { SimulatedUploads } from './uploads.js'

/** The namespaces of the example's channels (`review:<id>`, `upload:<id>`, `lobby:<id>`). */
export const Namespace = { review: 'review', upload: 'upload', lobby: 'lobby' } as const

/**
 * What the example keeps for recovery, per stream: the last 100 messages for
 * 5 minutes. A client back within both gets what it missed; past either it
 * is told too_old and refetches.
 */
export const EXAMPLE_HISTORY = { size: 100, ttlMs: 5 * 60_000 } as const

/**
 * The example's channel namespaces: a review's changes for its members, an
 * upload's progress for its uploader, and an open lobby. Each authorize runs
 * when a client subscribes (and again after every reconnect, before any
 * replay), so a user removed from a review cannot subscribe back. Reviews and
 * the lobby keep history; an upload's progress does not (the next step
 * replaces the last).
 */
export function exampleChannels (reviews: ReviewStore, uploads: SimulatedUploads): NonNullable<RealtimeOptions['channels']> {
  return {
    [Namespace.review]: {
      authorize: (connection, reviewId) => reviews.isMember(reviewId, connection.userId) || { reason: 'not a member of this review' },
      // who is viewing a review: presence.state on request, presence.joined/left as members open and close it
      presence: true,
      // a review's changes survive a dropped connection: the client recovers them
      history: EXAMPLE_HISTORY
    },
    [Namespace.upload]: {
      authorize: (connection, uploadId) => uploads.uploaderOf(uploadId) === connection.userId || { reason: 'not your upload' }
    },
    // no authorize: every authenticated connection may subscribe
    [Namespace.lobby]: { history: EXAMPLE_HISTORY }
  }
}
