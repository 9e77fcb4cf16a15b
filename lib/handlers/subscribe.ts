import type { SubscribeData, UnsubscribeData } from '../protocol/client-messages.js'
import { WireError } from '../protocol/codes.js'
import { clipJsonString } from '../bounded-text.js'
import { authorizeChannels, type ChannelRequest, type Refusal } from '../channels/authorize.js'
import { echo } from '../channels/names.js'
import type { CoreContext } from './context.js'
import { confirmWithHistory, holdChannels, recoverFor, refusedRecovery, type RecoverRequest } from '../history/recovery.js'

/**
 * subscribe: events and channels, all or nothing. Every event must be
 * allowed, every channel well formed in a declared namespace, the total
 * within maxSubscriptionsPerConnection, and every new channel admitted by
 * its namespace's authorize; otherwise nothing is subscribed.
 */
export function handleSubscribe (data: SubscribeData, context: CoreContext): void {
  queue(context, data, (controller) => subscribe(data, context, controller))
}

/** unsubscribe: what is not subscribed is simply not there to remove; a malformed channel is INVALID_CHANNEL. */
export function handleUnsubscribe (data: UnsubscribeData, context: CoreContext): void {
  queue(context, data, () => unsubscribe(data, context))
}

function queue (context: CoreContext, data: SubscribeData, operation: (controller: AbortController) => void | Promise<void>): void {
  if ((data.events === undefined || data.events.length === 0) && (data.channels === undefined || data.channels.length === 0)) {
    context.sendError(WireError.invalidMessage, 'Invalid message: data must have events or channels')
    return
  }
  const isQueued = context.channels.queue.run(context.connection, (controller) => {
    try {
      const result = operation(controller)
      return result === undefined ? undefined : result.catch((err: unknown) => failed(context, err))
    /* c8 ignore next 3 */ // the operations never throw (replies and errors never do): kept so a future bug answers instead of escaping
    } catch (err) {
      failed(context, err)
    }
  })
  if (!isQueued) context.sendError(WireError.tooManySubscriptions, 'Too many subscribe requests waiting for authorization')
}

function subscribe (data: SubscribeData, context: CoreContext, controller: AbortController): void | Promise<void> {
  const events = unique(data.events)
  const invalid = events.filter(event => !context.allowedEvents.has(event))
  if (invalid.length > 0) {
    // the events are the client's: each quoted cut between two characters, the text and details bounded when sent
    context.sendError(WireError.invalidEvent, `Cannot subscribe to: ${invalid.map(e => clipJsonString(e, 64)).join(', ')}`, { details: invalid })
    return
  }
  const channels = parseAll(unique(data.channels), context)
  if (channels === undefined) return
  const { connection } = context
  const fresh = channels.filter(channel => !connection.channels.has(channel.name))
  if (!isWithinBound(events, fresh, context)) return
  // a channel to recover is authorized again even if the connection is in it: no history for a revoked member
  const toAuthorize = data.recover === undefined ? fresh : channels.filter(channel => !connection.channels.has(channel.name) || recoverFor(data.recover, channel.name) !== undefined)
  const verdict = authorizeChannels(toAuthorize, {
    connection,
    namespaces: context.channels.namespaces,
    timeoutMs: context.channels.authorizeTimeoutMs,
    requestId: context.requestId,
    controller
  })
  if (Array.isArray(verdict)) return commit(events, channels, verdict, context, data.recover)
  return verdict.then(refusals => commit(events, channels, refusals, context, data.recover))
}

/** After authorization: refuse, or subscribe to everything and confirm. */
function commit (events: string[], channels: ChannelRequest[], refusals: Refusal[], context: CoreContext, recover: RecoverRequest): void | Promise<void> {
  const { connection } = context
  // closed while authorizing: the connection is forgotten, and must stay out of every index
  if (!connection.isOpen) return
  // left (revoked) by the server while authorizing: the late answer predates it
  for (const channel of channels) {
    const reason = context.channels.queue.leftWhilePending(connection, channel.name)
    if (reason !== undefined && !refusals.some(r => r.channel === channel.name)) refusals.push({ channel: channel.name, reason })
  }
  if (refusals.length > 0) {
    const list = refusals.map(r => `${r.channel} (${r.reason})`).join(', ')
    context.sendError(WireError.channelForbidden, `Not allowed to subscribe to: ${list}`, {
      details: refusals.map(r => r.channel),
      reasons: refusals.map(r => r.reason)
    })
    const forbidden = refusedRecovery(recover, refusals.map(r => r.channel))
    if (forbidden !== undefined) {
      context.counters.countRecoveries(forbidden)
      context.reply('recovery.result', withRequestId({ streams: forbidden }, context))
    }
    return
  }
  // the server may have joined it to channels meanwhile
  const fresh = channels.filter(channel => !connection.channels.has(channel.name))
  if (!isWithinBound(events, fresh, context)) return
  const addedEvents = connection.addSubscriptions(events)
  context.registry.indexEvents(connection, addedEvents)
  const index = context.channels.index
  const names = channels.map(channel => channel.name)
  // from before the connection is in them: their live messages wait for the position (and replay)
  const held = holdChannels(context.streams, connection, names)
  for (const channel of fresh) index.add(connection, channel.name)
  const confirm = (): void | Promise<void> => {
    if (held.length === 0 && recover === undefined) {
      if (!connection.isOpen) return
      if (!context.tryReply('subscription.confirmed', confirmation(events, names, context))) {
        // the confirmation lists everything the connection is in: past maxMessageSize, all or nothing means nothing
        context.registry.unindexEvents(connection, connection.removeSubscriptions(addedEvents))
        for (const channel of fresh) index.remove(connection, channel.name)
        context.sendError(WireError.tooManySubscriptions, 'Too many subscriptions: the confirmation would exceed maxMessageSize')
      }
      return
    }
    return confirmWithHistory({
      streams: context.streams,
      connection,
      channels: names,
      held,
      recover,
      confirm: (positions) => context.reply('subscription.confirmed', confirmation(events, names, context, positions)),
      result: (streams) => {
        context.counters.countRecoveries(streams)
        context.reply('recovery.result', withRequestId({ streams }, context))
      }
    })
  }
  // confirmed once the cluster routes the channels here: a message published after it is received
  const ready = index.ready(names)
  if (ready === undefined) return confirm()
  return ready.then(confirm)
}

function withRequestId (data: Record<string, unknown>, context: CoreContext): Record<string, unknown> {
  if (context.requestId !== undefined) data.request_id = context.requestId
  return data
}

function unsubscribe (data: UnsubscribeData, context: CoreContext): void {
  const events = unique(data.events)
  const channels = parseAll(unique(data.channels), context)
  if (channels === undefined) return
  const { connection } = context
  context.registry.unindexEvents(connection, connection.removeSubscriptions(events))
  for (const channel of channels) context.channels.index.remove(connection, channel.name)
  context.reply('unsubscription.confirmed', confirmation(events, channels.map(channel => channel.name), context))
}

/** The channels as requested, or undefined after answering INVALID_CHANNEL naming the bad ones. */
function parseAll (names: string[], context: CoreContext): ChannelRequest[] | undefined {
  const parsed: ChannelRequest[] = []
  const invalid: string[] = []
  for (const name of names) {
    const channel = context.channels.parse(name)
    if (channel === undefined) invalid.push(echo(name))
    else parsed.push({ name, ...channel })
  }
  if (invalid.length === 0) return parsed
  context.sendError(WireError.invalidChannel,
    `Invalid channel: ${invalid.map(name => clipJsonString(name, 64)).join(', ')} (namespace:id of a declared namespace, id of 1-128 [A-Za-z0-9_.@=-])`,
    { details: invalid })
  return undefined
}

function isWithinBound (events: string[], freshChannels: ChannelRequest[], context: CoreContext): boolean {
  const { connection } = context
  const max = context.channels.maxSubscriptionsPerConnection
  const freshEvents = events.filter(event => !connection.subscriptions.has(event)).length
  const total = connection.subscriptions.size + connection.channels.size + freshEvents + freshChannels.length
  if (total <= max) return true
  context.sendError(WireError.tooManySubscriptions, `Too many subscriptions: at most ${max} events and channels per connection`)
  return false
}

function confirmation (events: string[], channels: string[], context: CoreContext, positions?: Record<string, unknown>): Record<string, unknown> {
  const { connection } = context
  const data: Record<string, unknown> = {
    events,
    channels,
    subscriptions: [...connection.subscriptions],
    channel_subscriptions: [...connection.channels]
  }
  if (positions !== undefined) data.positions = positions
  // the id of the request it answers, so clients can match it
  if (context.requestId !== undefined) data.request_id = context.requestId
  return data
}

/* c8 ignore next 4 */ // only reached by a bug: the operations handle every failure themselves
function failed (context: CoreContext, err: unknown): void {
  context.log.error({ err }, 'subscription request failed')
  context.sendError(WireError.handlerError, 'Could not handle subscription request')
}

function unique (list: readonly string[] | undefined): string[] {
  return list === undefined ? [] : [...new Set(list)]
}
