import type { FastifyBaseLogger } from 'fastify'
import type { ConnectionInfo } from '../connection.js'
import type { HistoryOptions } from '../history/options.js'

/** What authorize answers: true admits; false, or `{ reason }`, refuses (the reason goes to the client). */
export type ChannelAuthorizeResult = boolean | { reason: string }

/**
 * What authorize gets besides the connection and the id. The connection
 * does not keep its upgrade request (it would hold the request's memory for
 * the connection's whole life): what the handshake learned is on
 * `connection.user` (what `authenticate` returned).
 */
export interface ChannelAuthorizeContext {
  /** The full channel name, `namespace:id`. */
  readonly channel: string
  readonly namespace: string
  /** The `id` of the client's subscribe message, when it sent one. */
  readonly requestId: string | undefined
  /** The connection's logger (bound to its connectionId and userId). */
  readonly log: FastifyBaseLogger
  /**
   * Aborted when the answer is no longer wanted: authorizeTimeoutMs passed,
   * or the connection closed. Hand it to a database query or a fetch.
   */
  readonly signal: AbortSignal
}

export type ChannelAuthorize = (
  connection: ConnectionInfo,
  id: string,
  context: ChannelAuthorizeContext
) => ChannelAuthorizeResult | Promise<ChannelAuthorizeResult>

/**
 * One declared namespace. An interface, so that later features (history,
 * presence) add their keys to it.
 */
export interface ChannelNamespaceOptions {
  /**
   * Decides whether a connection may subscribe to `namespace:<id>`. Runs for
   * every channel a client subscribes to (again after each reconnect),
   * never for the server's own `join`. Without it the namespace is open to
   * every authenticated connection. A throw, a rejection or a timeout
   * (authorizeTimeoutMs) refuses, with reason 'error' or 'timeout'.
   */
  authorize?: ChannelAuthorize
  /**
   * Who is in each channel: `true` lists the users (`presence` requests,
   * `presence.joined` / `presence.left`), `'count'` answers counts only, for
   * big rooms. Off by default.
   */
  presence?: ChannelPresenceMode
  /**
   * Keep the last messages of each channel of the namespace, so a client
   * that reconnects gets what it missed (`subscribe` with `recover`). Every
   * message published to such a channel carries its `offset`.
   */
  history?: Partial<HistoryOptions>
}

export type ChannelPresenceMode = boolean | 'count'

/** The keys a namespace accepts (a misspelled key is an options error, not a silent no-op). */
export const NAMESPACE_KEYS: ReadonlySet<string> = new Set(['authorize', 'presence', 'history'])
