import type { RealtimeUser } from './host-types.js'
import type { InboxAsk } from './history/recovery.js'

/** Who the handshake said the client is. */
export interface Identity {
  userId: string
  user: RealtimeUser
  /** Token expiry in ms since the epoch, or Infinity. */
  expiresAt: number
  /** Pre-allocated when a cluster adapter claimed a slot for this connection. */
  connectionId?: string
  /** Stops the handshake's watch for an abandoned upgrade (it holds the request). */
  stopWatching?: () => void
  /** The inbox position the client asked to recover from (`?inbox=<epoch>:<offset>`); null when malformed. */
  inbox?: InboxAsk
}
