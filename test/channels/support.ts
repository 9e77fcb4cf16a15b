import type { FastifyInstance } from 'fastify'
import { messagesBeforeMarker, type Envelope } from '../helpers/client.js'
import type { Connected } from '../helpers/server.js'

/** A connected client and its connection id (from its connection.established). */
export type Member = Connected

/** Connects as `userId`, keeping the connection id; closed in teardown (test/helpers/server.ts). */
export { connectAs as connect } from '../helpers/server.js'

/** subscribe with an id; resolves the confirmation, or the error that answers it (test/helpers/client.ts). */
export { subscribeWith as subscribe, answerTo } from '../helpers/client.js'

/**
 * Everything the connection received before a marker sent to it now: the
 * negative check ("nothing else arrived") without waiting for a while. The
 * marker goes through `via` (another node, for a cross-node check: Redis
 * keeps one publisher's messages in order).
 */
export function receivedBefore (member: Member, via: FastifyInstance): Promise<Envelope[]> {
  return messagesBeforeMarker(member.client, via.realtime, 5000)
}

/** A promise whose settlement the test controls (test/helpers/deferred.ts). */
export { deferred, type Deferred } from '../helpers/deferred.js'

/** Resolves once a check holds, for server-side state no event announces (test/helpers/wait.ts). */
export { eventually as until } from '../helpers/wait.js'

export const review = (changes: Record<string, unknown>) => ({ type: 'review.updated' as const, data: { review_id: 'x', changes, timestamp: new Date().toISOString() } })
