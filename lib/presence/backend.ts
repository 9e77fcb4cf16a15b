import type { FastifyBaseLogger } from 'fastify'
import type { RealtimeClock } from '../clock.js'

/**
 * Presence is kept per scope: `users` (is the user connected anywhere) and,
 * for channels with presence, `channel:<name>` (is the user subscribed to it
 * from any connection). A user is *in* a scope while at least one of their
 * connections is; leaving takes effect after the grace.
 */
export const USERS_SCOPE = 'users'

export type PresenceStatus = 'online' | 'offline'

/** A user entered (`online`) or left (`offline`) a scope, once across the cluster. */
export interface PresenceChange {
  scope: string
  userId: string
  status: PresenceStatus
  /** When it was decided, ms since the epoch (the backend's clock: Redis's on a cluster). */
  at: number
}

/** One user of a scope, as listed by `members`. */
export interface PresenceMember {
  userId: string
  /** Their connections in the scope, across the cluster. */
  connections: number
  /** ms since the epoch: when they entered (kept through a reconnect within the grace). */
  joinedAt: number
}

/** What the node gives a presence backend. */
export interface PresenceBackendContext {
  /** How long a user stays in a scope after their last connection left it. */
  readonly offlineGraceMs: number
  readonly log: FastifyBaseLogger
  /** The node's clock (the plugin's `clock` option), for the grace's timers; the real one when absent. */
  readonly clock?: RealtimeClock
  /**
   * Told every change this backend decided. The backend that decides a
   * change is the only one in the cluster told about it, so the node it
   * belongs to announces it, and nobody else.
   */
  changed (change: PresenceChange): void
}

/**
 * Where presence state lives: in this process (memory) or in Redis, shared
 * by every node. Joins and leaves of one connection are handed in order.
 */
export interface PresenceBackend {
  start (): Promise<void>
  /** The connection entered these scopes. */
  join (userId: string, connectionId: string, scopes: readonly string[]): Promise<void>
  /** The connection left these scopes (closed, or unsubscribed). */
  leave (userId: string, connectionId: string, scopes: readonly string[]): Promise<void>
  /** Whether the user is in the scope (true through the grace, until `offline` is decided). */
  isPresent (scope: string, userId: string): Promise<boolean>
  /** Those of `userIds` who are in the scope, each once, in the order given. */
  presentAmong (scope: string, userIds: readonly string[]): Promise<string[]>
  count (scope: string): Promise<number>
  /** The users of the scope if there are at most `limit` (else none: `total` alone says how many). */
  members (scope: string, limit: number): Promise<{ total: number, members: PresenceMember[] }>
  /** Stops timers and waits for the work in flight; state that others share stays. */
  close (): Promise<void>
}
