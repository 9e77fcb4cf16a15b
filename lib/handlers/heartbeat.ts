import type { HeartbeatData } from '../protocol/client-messages.js'
import type { CoreContext } from './context.js'

/** heartbeat: a sign of life (already recorded by receiving it), acknowledged. */
export function handleHeartbeat (_data: HeartbeatData, context: CoreContext): void {
  context.reply('heartbeat.ack', { timestamp: new Date().toISOString() })
}
