import type { PingData } from '../protocol/client-messages.js'
import type { CoreContext } from './context.js'

/** ping -> pong, echoing pingId so the client can match its round trip. */
export function handlePing (data: PingData, context: CoreContext): void {
  const pong: { timestamp: string, pingId?: string | number | null } = { timestamp: new Date().toISOString() }
  if (data.pingId !== undefined) pong.pingId = data.pingId
  context.reply('pong', pong)
}
