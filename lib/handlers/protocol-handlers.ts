import type { MessageRouter } from '../message-router.js'
import { PingDataSchema, HeartbeatDataSchema, SubscribeDataSchema, UnsubscribeDataSchema } from '../protocol/client-messages.js'
import { handlePing } from './ping.js'
import { handleHeartbeat } from './heartbeat.js'
import { handleSubscribe, handleUnsubscribe } from './subscribe.js'
import type { CoreContext } from './context.js'

/**
 * The seed's own client messages and their handlers, added to a node's router
 * before the host's `messages` (whose names lib/options.ts keeps off these).
 * Every context the router passes is a CoreContext: the node builds them.
 */
export function addProtocolHandlers (router: MessageRouter): void {
  router.add('ping', PingDataSchema, (data, ctx) => handlePing(data, ctx as CoreContext))
  router.add('heartbeat', HeartbeatDataSchema, (data, ctx) => handleHeartbeat(data, ctx as CoreContext))
  router.add('subscribe', SubscribeDataSchema, (data, ctx) => handleSubscribe(data, ctx as CoreContext))
  router.add('unsubscribe', UnsubscribeDataSchema, (data, ctx) => handleUnsubscribe(data, ctx as CoreContext))
}
