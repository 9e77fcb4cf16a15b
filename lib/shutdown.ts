import type { IncomingMessage } from 'node:http'
import type { WebSocket, WebSocketServer } from 'ws'
import { CloseCode } from './protocol/codes.js'

/** Clients of the ws server that are not the plugin's (a host's own routes) are told 1001 too. */
export function closeOtherClients (server: WebSocketServer): void {
  for (const client of server.clients) {
    if (client.readyState === client.OPEN) client.close(CloseCode.goingAway, 'server shutting down')
  }
}

/** Waits up to `graceMs` for the sockets to answer their close, then cuts off the rest. */
export async function waitForSockets (sockets: ReadonlySet<WebSocket>, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs
  while (sockets.size > 0 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  for (const socket of sockets) socket.terminate()
}

/** The realtime sockets of a ws server the host registered, and how they are closed at shutdown. */
export interface HostServerSockets {
  /** Raw requests whose upgrade the handshake accepted: the sockets born from them are the plugin's. */
  readonly acceptedUpgrades: WeakSet<IncomingMessage>
  /** The plugin's open sockets on the host's server, until they close. */
  readonly sockets: ReadonlySet<WebSocket>
}

/**
 * A host that registered @fastify/websocket itself owns its preClose, which
 * runs before the plugin's and closes every client of the server with a bare
 * `close()`: the peer would see 1005 (no code). On the plugin's sockets a bare
 * close that the peer did not start means the server is going away: 1001. A
 * close with a code, and the echo of the peer's own close, are left as they are.
 */
export function adoptHostServerSockets (server: WebSocketServer): HostServerSockets {
  const acceptedUpgrades = new WeakSet<IncomingMessage>()
  const sockets = new Set<WebSocket>()
  const forget = function (this: WebSocket): void { sockets.delete(this) }
  server.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    if (!acceptedUpgrades.has(request)) return
    acceptedUpgrades.delete(request)
    sockets.add(socket)
    socket.on('close', forget)
    socket.close = closeGoingAwayByDefault
  })
  return { acceptedUpgrades, sockets }
}

/** One function for every adopted socket; ws's own close stays on the prototype. */
function closeGoingAwayByDefault (this: WebSocket, code?: number, reason?: string | Buffer): void {
  const close = (Object.getPrototypeOf(this) as WebSocket).close
  const isEcho = (this as unknown as { _closeFrameReceived?: boolean })._closeFrameReceived === true
  if (code === undefined && !isEcho) close.call(this, CloseCode.goingAway, 'server shutting down')
  else close.call(this, code, reason)
}
