import type { HeartbeatData } from '../protocol/client-messages.js'
import { HeartbeatAckData } from '../protocol/serializers.js'
import { isoNow } from '../timestamp.js'
import type { CoreContext } from './context.js'

/** heartbeat: a sign of life (already recorded by receiving it), acknowledged. */
export function handleHeartbeat (_data: HeartbeatData, context: CoreContext): void {
  context.reply('heartbeat.ack', new HeartbeatAckData(isoNow()))
}
