import type { SubscribeData, UnsubscribeData } from '../protocol/client-messages.js'
import { WireError } from '../protocol/codes.js'
import { clipJsonString } from '../bounded-text.js'
import type { CoreContext } from './context.js'

/** subscribe: all requested events must be allowed, or nothing is subscribed. */
export function handleSubscribe (data: SubscribeData, context: CoreContext): void {
  const invalid = data.events.filter(event => !context.allowedEvents.has(event))
  if (invalid.length > 0) {
    // the events are the client's: each quoted cut between two characters, the text and details bounded when sent
    context.sendError(WireError.invalidEvent, `Cannot subscribe to: ${invalid.map(e => clipJsonString(e, 64)).join(', ')}`, { details: invalid })
    return
  }
  const { connection } = context
  const added = connection.addSubscriptions(data.events)
  context.registry.indexEvents(connection, added)
  context.reply('subscription.confirmed', withRequestId({ events: [...new Set(data.events)], subscriptions: [...connection.subscriptions] }, context.requestId))
}

/** unsubscribe: unknown or not-subscribed events are simply not there to remove. */
export function handleUnsubscribe (data: UnsubscribeData, context: CoreContext): void {
  const { connection } = context
  const removed = connection.removeSubscriptions(data.events)
  context.registry.unindexEvents(connection, removed)
  context.reply('unsubscription.confirmed', withRequestId({ events: [...new Set(data.events)], subscriptions: [...connection.subscriptions] }, context.requestId))
}

/** Confirmations carry the id of the request they answer, so clients can match them. */
function withRequestId<T extends object> (data: T, requestId: string | undefined): T & { request_id?: string } {
  return requestId === undefined ? data : { ...data, request_id: requestId }
}
