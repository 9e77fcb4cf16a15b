import { ClientErrorCode, RealtimeClientError } from './errors.js'
import type { SubscriptionLists } from './subscription-state.js'
import type { Clock } from './types.js'

/** What the client asks the server and awaits an answer to. */
export type RequestKind = 'subscribe' | 'unsubscribe' | 'ping' | 'presence'
/** The first letter of a request's id, by kind (ids are unique per client; the letter helps reading a trace). */
const ID_PREFIX: Record<RequestKind, string> = { subscribe: 's', unsubscribe: 's', ping: 'p', presence: 'q' }

/**
 * The request kind each reply answers. The server echoes the id of the
 * message it answers as `request_id` on every reply and error (a pong
 * echoes the ping's `pingId`, which is the request's id).
 */
const ANSWERS = {
  'subscription.confirmed': 'subscribe',
  'unsubscription.confirmed': 'unsubscribe',
  'presence.state': 'presence',
  pong: 'ping'
} as const satisfies Record<string, RequestKind>
/** A reply that answers a request: one of ANSWERS, or an error (which answers any kind). */
export type AnswerType = keyof typeof ANSWERS | 'error'

export interface PendingRequest {
  readonly id: string
  readonly kind: RequestKind
  /** The data sent as is (a presence request's); otherwise built from `lists` when written (a subscribe's positions are read then). */
  readonly data?: object
  /** What a subscribe or unsubscribe asks for (empty lists for a ping or a presence request). */
  readonly lists: SubscriptionLists
  /** A subscribe the client makes itself to restore subscriptions: nobody awaits it. */
  readonly isInternal: boolean
  resolve (value: unknown): void
  reject (error: RealtimeClientError): void
  timer: unknown
  sentAt: number
}

export interface RequestMatcherOptions {
  readonly clock: Clock
  readonly timeoutMs: number
  /** No answer came within timeoutMs: the request is already forgotten. */
  timedOut (request: PendingRequest, error: RealtimeClientError): void
}

/**
 * The requests written on the current connection that await their answer,
 * by id: each is sent with an `id`, and the server echoes it in the answer.
 * Owns the ids and the per-request timeouts; settling is the caller's.
 */
export class RequestMatcher {
  readonly #options: RequestMatcherOptions
  readonly #inflight = new Map<string, PendingRequest>()
  #nextId = 0

  constructor (options: RequestMatcherOptions) {
    this.#options = options
  }

  /** A request not yet written, with a fresh id. */
  create (kind: RequestKind, lists: SubscriptionLists, isInternal: boolean, settle: Pick<PendingRequest, 'resolve' | 'reject'>, data?: object): PendingRequest {
    return {
      id: this.nextId(ID_PREFIX[kind]),
      kind,
      ...(data === undefined ? {} : { data }),
      lists,
      isInternal,
      resolve: settle.resolve,
      reject: settle.reject,
      timer: undefined,
      sentAt: 0
    }
  }

  /** An id unique in this client: the prefix and a counter (a heartbeat's ping takes one too). */
  nextId (prefix: string): string {
    return `${prefix}${++this.#nextId}`
  }

  /** The request was written: it awaits its answer until the timeout. */
  sent (request: PendingRequest): void {
    const { clock, timeoutMs } = this.#options
    request.sentAt = clock.now()
    this.#inflight.set(request.id, request)
    request.timer = clock.setTimeout(() => {
      // still in flight: every way out of it stops this timer
      request.timer = undefined
      this.#inflight.delete(request.id)
      this.#options.timedOut(request, new RealtimeClientError(ClientErrorCode.timeout, `no answer to ${request.kind} within ${timeoutMs} ms`, { requestId: request.id }))
    }, timeoutMs)
  }

  /**
   * The request a reply answers, forgotten: the one whose id the reply
   * echoes (`request_id`; a pong's `pingId`), if it is of the kind that
   * reply answers (an error answers any). Undefined for a reply to nothing
   * this client awaits: a heartbeat's pong, an answer after the timeout, a
   * frame sent with send().
   */
  answer (type: AnswerType, data: { readonly request_id?: unknown, readonly pingId?: unknown }): PendingRequest | undefined {
    return this.#take(type === 'pong' ? data.pingId : data.request_id, type === 'error' ? undefined : ANSWERS[type])
  }

  #take (id: unknown, kind: RequestKind | undefined): PendingRequest | undefined {
    const request = typeof id === 'string' ? this.#inflight.get(id) : undefined
    if (request === undefined || (kind !== undefined && request.kind !== kind)) return undefined
    this.#forget(request)
    return request
  }

  /**
   * The connection is gone: every request is forgotten. Returns those the
   * app awaits, oldest first, to send again on the next connection (a
   * restore is redone from the subscriptions instead).
   */
  release (): PendingRequest[] {
    const unanswered: PendingRequest[] = []
    for (const request of this.#inflight.values()) {
      this.#stopTimer(request)
      if (!request.isInternal) unanswered.push(request)
    }
    this.#inflight.clear()
    return unanswered
  }

  /** Forgets every request; returns them all (the client stops). */
  drain (): PendingRequest[] {
    const requests = [...this.#inflight.values()]
    this.#inflight.clear()
    for (const request of requests) this.#stopTimer(request)
    return requests
  }

  #forget (request: PendingRequest): void {
    this.#stopTimer(request)
    this.#inflight.delete(request.id)
  }

  #stopTimer (request: PendingRequest): void {
    if (request.timer !== undefined) this.#options.clock.clearTimeout(request.timer)
    request.timer = undefined
  }
}
