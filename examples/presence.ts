import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { PresenceOptions } from 'fastify-realtime'

/**
 * The example's presence: every logged-in user may see who else is online
 * (a demo choice; a real app returns the user's contacts or team).
 */
export function examplePresence (options: PresenceOptions = {}): PresenceOptions {
  return { ...options, audience: () => 'all' }
}

/** The users the example knows (those who got a token), newest last: its stand-in for a user directory. */
export class UserDirectory {
  readonly #users = new Set<string>()
  readonly #max: number

  constructor (max = 10000) {
    this.#max = max
  }

  add (userId: string): void {
    this.#users.delete(userId)
    this.#users.add(userId)
    // bounded: the oldest is forgotten first
    if (this.#users.size > this.#max) this.#users.delete(this.#users.values().next().value as string)
  }

  get all (): string[] {
    return [...this.#users]
  }
}

const OnlineUsers = Type.Object({ online: Type.Array(Type.String()) })

/** GET /presence/users: who of the directory is online, in one bulk query (one Redis round trip on a cluster). */
export function presenceRoutes (secured: FastifyInstance, app: FastifyInstance, directory: UserDirectory): void {
  secured.get('/presence/users', { schema: { response: { 200: OnlineUsers } } }, async () => ({
    online: await app.realtime.onlineUsers(directory.all)
  }))
}
