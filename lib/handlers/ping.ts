import type { PingData } from '../protocol/client-messages.js'
import { PongData } from '../protocol/serializers.js'
import { isoNow } from '../timestamp.js'
import type { CoreContext } from './context.js'

/** ping -> pong, echoing pingId so the client can match its round trip. */
export function handlePing (data: PingData, context: CoreContext): void {
  // PongData: written by the serializer compiled from PongSchema
  context.reply('pong', new PongData(isoNow(), data.pingId))
}
