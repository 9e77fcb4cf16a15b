import type { PresenceState } from '../protocol/presence-messages.js'
import type {
  ConnectionEstablished, ErrorData, Pong, ServerEnvelope, SubscriptionConfirmed, SubscriptionEnded, SubscriptionJoined
} from '../protocol/server-messages.js'
import type { ChannelListeners } from './channel-listeners.js'
import type { TypedEmitter } from './emitter.js'
import { ClientErrorCode, RealtimeClientError, messageOf } from './errors.js'
import type { Heartbeat } from './heartbeat.js'
import type { Recovery } from './recovery.js'
import type { RequestMatcher } from './request-matcher.js'
import type { SubscriptionLists, SubscriptionState } from './subscription-state.js'
import type { ChannelMessage, ClientEventMap, Clock } from './types.js'

/** What the receiving side works on: the client's parts. */
export interface InboundHost {
  readonly emitter: TypedEmitter<ClientEventMap>
  readonly clock: Clock
  readonly heartbeat: Heartbeat
  readonly recovery: Recovery
  readonly subscriptions: SubscriptionState
  readonly matcher: RequestMatcher
  readonly channelListeners: ChannelListeners
  /** The client still has a socket (recovering a hole may have released it). */
  hasSocket (): boolean
  /** connection.established arrived. */
  established (data: ConnectionEstablished): void
  /** Sends subscribes that restore these lists (nobody awaits them). */
  restore (requests: SubscriptionLists[]): void
}

/**
 * Every frame the server sends: parsed, counted by recovery, emitted, and
 * the answers handed to the requests that await them.
 */
export class Inbound {
  readonly #host: InboundHost

  constructor (host: InboundHost) {
    this.#host = host
  }

  receive (raw: unknown): void {
    const host = this.#host
    let message: ServerEnvelope
    try {
      if (typeof raw !== 'string') throw new TypeError('binary frame')
      const parsed: unknown = JSON.parse(raw)
      if (parsed === null || typeof parsed !== 'object' || typeof (parsed as { type?: unknown }).type !== 'string') {
        throw new TypeError('no message type')
      }
      message = parsed as ServerEnvelope
    } catch (cause) {
      host.emitter.emit('error', new RealtimeClientError(ClientErrorCode.invalidFrame, `the server sent an unreadable frame: ${messageOf(cause)}`, { cause }))
      return
    }
    host.heartbeat.frameReceived()
    // positions advance here, before any listener runs: a listener that throws cannot bring a message back
    if (!host.recovery.receive(message) || !host.hasSocket()) return
    host.emitter.emit('message', message)
    switch (message.type) {
      case 'connection.established':
        host.established(message.data as ConnectionEstablished)
        break
      case 'pong':
        this.#onPong(message.data as Pong)
        break
      case 'subscription.confirmed':
      case 'unsubscription.confirmed':
        this.#onConfirmed(message.type, message.data as SubscriptionConfirmed)
        break
      case 'presence.state':
        this.#host.matcher.answer('presence.state', message.data as PresenceState)?.resolve(message.data)
        break
      case 'subscription.joined':
        host.subscriptions.channels.add((message.data as SubscriptionJoined).channel)
        break
      case 'subscription.ended':
        host.subscriptions.channels.delete((message.data as SubscriptionEnded).channel)
        break
      case 'error':
        // 'error' listeners get the client's errors: a server error nobody awaited is one of them
        this.#onServerError(message.data as ErrorData)
        return
    }
    if (typeof message.channel === 'string') {
      const channel = message.channel
      host.channelListeners.deliver(message as ChannelMessage, (cause) => {
        host.emitter.emit('error', new RealtimeClientError(ClientErrorCode.listenerFailed, `a listener of channel ${channel} threw`, { cause }))
      })
    }
    // typed listeners by message type (the map is keyed by the names RealtimeEvents declares)
    const emit = host.emitter.emit.bind(host.emitter) as (event: string, data: unknown, envelope: ServerEnvelope) => void
    emit(message.type, message.data, message)
  }

  #onConfirmed (type: 'subscription.confirmed' | 'unsubscription.confirmed', data: SubscriptionConfirmed): void {
    const lists: SubscriptionLists = { events: data.events ?? [], channels: data.channels ?? [] }
    // the lists are what the server did, whoever asked (a subscribe sent with send() has no request)
    this.#host.subscriptions.confirmed(type === 'subscription.confirmed' ? 'subscribe' : 'unsubscribe', lists)
    this.#host.matcher.answer(type, data)?.resolve(data)
  }

  #onPong (data: Pong): void {
    // a heartbeat's pong answers no request: frameReceived has handled it
    const request = this.#host.matcher.answer('pong', data)
    request?.resolve(this.#host.clock.now() - request.sentAt)
  }

  #onServerError (data: ErrorData): void {
    const host = this.#host
    const init: ConstructorParameters<typeof RealtimeClientError>[2] = {}
    if (data.request_id !== undefined) init.requestId = data.request_id
    if (data.details !== undefined) init.details = data.details
    if (data.reasons !== undefined) init.reasons = data.reasons
    if (data.retry_after !== undefined) init.retryAfterMs = data.retry_after * 1000
    const error = new RealtimeClientError(String(data.code), String(data.message), init)
    const request = host.matcher.answer('error', data)
    if (request === undefined) {
      host.emitter.emit('error', error)
      return
    }
    // no replay follows a refused subscribe: its channels' holes are watched for again
    if (request.kind === 'subscribe') host.recovery.abandon(request.lists.channels)
    if (!request.isInternal) {
      request.reject(error)
      return
    }
    // a restore refused: the server no longer allows some events or channels. Drop those, restore the rest.
    const rest = host.subscriptions.refused(request.lists, data.details ?? [])
    host.recovery.forget(data.details ?? [])
    host.emitter.emit('error', error)
    host.restore(rest)
  }
}
