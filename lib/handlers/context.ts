import type { Connection } from '../connection.js'
import type { Registry } from '../registry.js'
import type { MessageContext } from '../message-router.js'
import type { Channels } from '../channels/channels.js'
import type { Streams } from '../history/streams.js'
import type { Counters } from '../stats.js'

/** What the protocol's own handlers need beyond a host handler's context. */
export interface CoreContext extends MessageContext {
  readonly connection: Connection
  readonly registry: Registry<Connection>
  readonly allowedEvents: ReadonlySet<string>
  readonly channels: Channels
  /** Channels with history and the inbox: offsets, recovery. */
  readonly streams: Streams
  /** The node's counters (recoveries by result, for the metrics). */
  readonly counters: Counters
  sendError (code: string, message: string, extra?: { details?: string[], reasons?: string[] }): void
  /** Sends a reply only if it can be encoded within maxMessageSize; false (and nothing sent) otherwise. */
  tryReply (type: string, data: unknown): boolean
}
