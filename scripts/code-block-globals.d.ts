// The host app's own things that the documentation's code blocks use without
// defining them: a database, a store, the app of an earlier block... Declared
// here so that scripts/code-blocks.mjs compiles each block as printed.
// Typed the way a real app would have them, so that a block that passes the
// wrong type (an `unknown` user id to `db.users.find`) still fails.
import type { FastifyInstance } from 'fastify'
import type { RealtimeClient } from 'fastify-realtime/client'
import type realtimePlugin from 'fastify-realtime'
import type { ChannelAuthorize, redisAdapter as redisAdapterFn, MetricsRegistry } from 'fastify-realtime'

interface User { id: string, name: string, isActive: boolean }

declare global {
  /** An app with fastify-realtime registered (blocks that continue an earlier one). */
  const app: FastifyInstance
  /** The JWT secret. */
  const secret: string
  const db: { users: { find (id: string): Promise<User | undefined> } }
  const orders: { ship (orderId: string): Promise<{ id: string, customerId: string }> }
  const uploads: { cancel (uploadId: string, userId: string): boolean, ownerOf (uploadId: string): string | undefined }
  /** The plugin, imported in an earlier block (`import realtime from 'fastify-realtime'`). */
  const realtime: typeof realtimePlugin
  const redisAdapter: typeof redisAdapterFn
  /** The Redis URL. */
  const url: string
  /** A host's own channel authorization and review store. */
  const authorize: ChannelAuthorize
  const reviews: { isMember (reviewId: string, userId: string, options?: { signal?: AbortSignal }): boolean | Promise<boolean> }
  /** A review change of an earlier block. */
  const changes: Record<string, unknown>
  const timestamp: string
  /** Who may hear of a user's status (a host's contacts lookup). */
  function contactsOf (userId: string): Promise<string[]>
  /** The host's prom-client registry and metric-name prefix. */
  const registry: MetricsRegistry
  const prefix: string
  /** The browser app's own refetch after a gap. */
  function refetchNotifications (): Promise<void>
  function refetchChannelState (channel: string): Promise<void>
  /** The browser app's token source. */
  const auth: { getFreshToken (): Promise<string> }
  /** A typed client of an earlier block. */
  const client: RealtimeClient
  const badge: HTMLElement
  const bar: HTMLProgressElement
}
