import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'

/** A user id as the example issues tokens for it (and as a URL or a channel id may carry it). */
export const UserIdSchema = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@-]+$' })

/** The answer of every route that delivers: the connections on this node it reached. */
export const Delivered = Type.Object({ delivered: Type.Integer() })

interface TokenPayload { sub: string }

/** The authenticated caller of a route behind `request.jwtVerify()`. */
export function callerOf (request: FastifyRequest): string {
  return (request.user as TokenPayload).sub
}
