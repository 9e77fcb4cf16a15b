// The host app's own things that the documentation's code blocks use without
// defining them: a database, a store, the app of an earlier block... Declared
// here so that scripts/code-blocks.mjs compiles each block as printed.
// Typed the way a real app would have them, so that a block that passes the
// wrong type (an `unknown` user id to `db.users.find`) still fails.
import type { FastifyInstance } from 'fastify'
import type { RealtimeClient } from 'fastify-realtime/client'

interface User { id: string, name: string, isActive: boolean }

declare global {
  /** An app with fastify-realtime registered (blocks that continue an earlier one). */
  const app: FastifyInstance
  /** The JWT secret. */
  const secret: string
  const db: { users: { find (id: string): Promise<User | undefined> } }
  const orders: { ship (orderId: string): Promise<{ id: string, customerId: string }> }
  const uploads: { cancel (uploadId: string, userId: string): boolean }
  /** The browser app's token source. */
  const auth: { getFreshToken (): Promise<string> }
  /** A typed client of an earlier block. */
  const client: RealtimeClient
  const badge: HTMLElement
  const bar: HTMLProgressElement
}
