import type { WebSocketServer } from 'ws'
import { CloseCode } from './protocol/codes.js'

/** Clients of the ws server that are not the plugin's (a host's own routes) are told 1001 too. */
export function closeOtherClients (server: WebSocketServer): void {
  for (const client of server.clients) {
    if (client.readyState === client.OPEN) client.close(CloseCode.goingAway, 'server shutting down')
  }
}

/** Waits up to `graceMs` for clients to answer their close, then cuts off the rest. */
export async function waitForSockets (server: WebSocketServer, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs
  while (server.clients.size > 0 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  for (const client of server.clients) client.terminate()
}
