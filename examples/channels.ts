import type { RealtimeOptions } from 'fastify-realtime'
import type { ReviewStore } from './reviews.js'
import type { SimulatedUploads } from './uploads.js'

/** The namespaces of the example's channels (`review:<id>`, `upload:<id>`, `lobby:<id>`). */
export const Namespace = { review: 'review', upload: 'upload', lobby: 'lobby' } as const

/**
 * The example's channel namespaces: a review's changes for its members, an
 * upload's progress for its uploader, and an open lobby. Each authorize runs
 * when a client subscribes (and again after every reconnect), so a user
 * removed from a review cannot subscribe back.
 */
export function exampleChannels (reviews: ReviewStore, uploads: SimulatedUploads): NonNullable<RealtimeOptions['channels']> {
  return {
    [Namespace.review]: {
      authorize: (connection, reviewId) => reviews.isMember(reviewId, connection.userId) || { reason: 'not a member of this review' },
      // who is viewing a review: presence.state on request, presence.joined/left as members open and close it
      presence: true
    },
    [Namespace.upload]: {
      authorize: (connection, uploadId) => uploads.uploaderOf(uploadId) === connection.userId || { reason: 'not your upload' }
    },
    // no authorize: every authenticated connection may subscribe
    [Namespace.lobby]: {}
  }
}
