import { ClientErrorCode, RealtimeClientError } from './errors.js'
import type { PendingRequest, RequestMatcher } from './request-matcher.js'
import type { StreamPosition } from './stream-positions.js'
import type { SubscriptionLists } from './subscription-state.js'
import type { WebSocketLike } from './types.js'

const OPEN = 1

/** A plain message (its text), or a request (its text is written when it is sent: a subscribe carries the positions of then). */
export type Outgoing = { readonly text: string, readonly request?: undefined } | { readonly request: PendingRequest }

export interface OutboxOptions {
  readonly maxQueueSize: number
  readonly matcher: RequestMatcher
  /** The current socket, if any. */
  socket (): WebSocketLike | undefined
  /** The client is open (connection.established received on the current socket). */
  isOpen (): boolean
  /** The positions a subscribe asks to recover from, by channel. */
  recoverFor (channels: readonly string[]): Record<string, StreamPosition> | undefined
}

/**
 * What the client writes: at once while open, otherwise queued (bounded)
 * until the next open. A request's frame is built when it is written.
 */
export class Outbox {
  readonly #options: OutboxOptions
  readonly #queue: Outgoing[] = []

  constructor (options: OutboxOptions) {
    this.#options = options
  }

  /** Messages waiting for a connection. */
  get size (): number { return this.#queue.length }

  /** Writes now if open (true), otherwise queues (false); throws QUEUE_FULL past maxQueueSize. */
  dispatch (outgoing: Outgoing): boolean {
    if (this.#options.isOpen() && this.#options.socket()?.readyState === OPEN) {
      this.write(outgoing)
      return true
    }
    if (this.#queue.length >= this.#options.maxQueueSize) {
      throw new RealtimeClientError(ClientErrorCode.queueFull,
        `not connected and ${this.#queue.length} messages are already queued (maxQueueSize); message not sent`)
    }
    this.#queue.push(outgoing)
    return false
  }

  /** Writes on the current socket (a restore is written before the client is open). */
  write (outgoing: Outgoing): void {
    const socket = this.#options.socket()
    /* c8 ignore next 4 */ // callers check the socket is open; kept so a frame is never silently dropped
    if (socket === undefined || socket.readyState !== OPEN) {
      this.#queue.unshift(outgoing)
      return
    }
    const request = outgoing.request
    if (request === undefined) {
      socket.send(outgoing.text)
      return
    }
    socket.send(this.#requestText(request))
    this.#options.matcher.sent(request)
  }

  /** Writes everything queued, in order (the connection opened). */
  flush (): void {
    for (const outgoing of this.#queue.splice(0)) this.write(outgoing)
  }

  /** Requests left unanswered by a lost connection go in front of the queue: sent again on the next one. */
  requeue (requests: readonly PendingRequest[]): void {
    this.#queue.unshift(...requests.map(request => ({ request })))
  }

  /** Empties the queue: its requests, and how many plain messages were discarded. */
  discard (): { requests: PendingRequest[], discarded: number } {
    const requests: PendingRequest[] = []
    let discarded = 0
    for (const outgoing of this.#queue.splice(0)) {
      if (outgoing.request === undefined) discarded++
      else requests.push(outgoing.request)
    }
    return { requests, discarded }
  }

  #requestText (request: PendingRequest): string {
    if (request.data !== undefined) return JSON.stringify({ type: request.kind, data: request.data, id: request.id })
    if (request.kind === 'ping') return JSON.stringify({ type: 'ping', data: { pingId: request.id }, id: request.id })
    const data: WireLists & { recover?: Record<string, StreamPosition> } = wireLists(request.lists)
    // a subscribe asks for what was missed in each channel the client has a position in
    const recover = request.kind === 'subscribe' ? this.#options.recoverFor(request.lists.channels) : undefined
    if (recover !== undefined) data.recover = recover
    return JSON.stringify({ type: request.kind, data, id: request.id })
  }
}

/** Only the lists that have names go on the wire (an events-only subscribe is the seed's message). */
interface WireLists { events?: readonly string[], channels?: readonly string[] }

function wireLists (lists: SubscriptionLists): WireLists {
  const data: WireLists = {}
  if (lists.events.length > 0) data.events = lists.events
  if (lists.channels.length > 0) data.channels = lists.channels
  return data
}
