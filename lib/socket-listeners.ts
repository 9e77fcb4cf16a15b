import type { WebSocket, RawData } from 'ws'
import type { Connection } from './connection.js'
import { CloseCode } from './protocol/codes.js'

export const kConnection = Symbol('fastify-realtime.connection')
export type SocketWithConnection = WebSocket & { [kConnection]: Connection }

interface SocketEvents {
  message (connection: Connection, data: RawData, isBinary: boolean): void
  pong (connection: Connection): void
  close (connection: Connection, code: number): void
  error (connection: Connection, err: Error & { code?: string }): void
}

const connectionOf = (socket: WebSocket): Connection => (socket as SocketWithConnection)[kConnection]

/** Listeners shared by every socket of a node, instead of four closures per connection. */
export function createSocketListeners (events: SocketEvents) {
  return {
    message (this: WebSocket, data: RawData, isBinary: boolean): void { events.message(connectionOf(this), data, isBinary) },
    pong (this: WebSocket): void { events.pong(connectionOf(this)) },
    close (this: WebSocket, code: number): void { events.close(connectionOf(this), code) },
    error (this: WebSocket, err: Error & { code?: string }): void { events.error(connectionOf(this), err) }
  }
}

/**
 * The close code ws fails a connection with after a bad frame (1002, 1007,
 * 1009), which it keeps on the error under a symbol of its own: counted and
 * logged as what the peer saw. 1002 when it is not there.
 */
export function failureCloseCode (err: Error): number {
  const key = Object.getOwnPropertySymbols(err).find(symbol => symbol.description === 'status-code')
  const code = key === undefined ? undefined : (err as unknown as Record<symbol, unknown>)[key]
  return typeof code === 'number' ? code : CloseCode.protocolError
}
