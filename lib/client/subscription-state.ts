import { MAX_NAMES_PER_SUBSCRIBE } from '../protocol/constants.js'

/** What one subscribe or unsubscribe asks for. */
export interface SubscriptionRequest {
  events?: readonly string[]
  channels?: readonly string[]
}

/** A request's lists, normalized: deduplicated, possibly empty. */
export interface SubscriptionLists {
  readonly events: readonly string[]
  readonly channels: readonly string[]
}

/**
 * What the client restores on every connection: the events and channels
 * the server confirmed (or joined it to) and the app has not left. The
 * server re-authorizes every channel when it is restored.
 */
export class SubscriptionState {
  readonly events = new Set<string>()
  readonly channels = new Set<string>()

  /** The server confirmed a subscribe or an unsubscribe: its lists are what it did. */
  confirmed (kind: 'subscribe' | 'unsubscribe', lists: SubscriptionLists): void {
    for (const event of lists.events) {
      if (kind === 'subscribe') this.events.add(event)
      else this.events.delete(event)
    }
    for (const channel of lists.channels) {
      if (kind === 'subscribe') this.channels.add(channel)
      else this.channels.delete(channel)
    }
  }

  /** The app unsubscribes: stop restoring these at once, whatever the answer. */
  forget (lists: SubscriptionLists): void {
    for (const event of lists.events) this.events.delete(event)
    for (const channel of lists.channels) this.channels.delete(channel)
  }

  /** Requests that restore everything, each within the server's per-list bound. */
  restoreRequests (): SubscriptionLists[] {
    return chunk([...this.events], [...this.channels])
  }

  /**
   * A restore was refused: the names the server refused (`details`) are
   * dropped; resolves the requests that restore the rest of it.
   */
  refused (request: SubscriptionLists, details: readonly string[]): SubscriptionLists[] {
    const refused = new Set(details)
    if (refused.size === 0) return []
    for (const name of refused) {
      this.events.delete(name)
      this.channels.delete(name)
    }
    return chunk(request.events.filter(event => this.events.has(event)), request.channels.filter(channel => this.channels.has(channel)))
  }
}

function chunk (events: string[], channels: string[]): SubscriptionLists[] {
  const requests: SubscriptionLists[] = []
  for (let i = 0; i < Math.max(events.length, channels.length); i += MAX_NAMES_PER_SUBSCRIBE) {
    requests.push({ events: events.slice(i, i + MAX_NAMES_PER_SUBSCRIBE), channels: channels.slice(i, i + MAX_NAMES_PER_SUBSCRIBE) })
  }
  return requests
}

/** A subscribe()/unsubscribe() argument as lists; throws TypeError for a bad one. */
export function normalizeRequest (request: string | readonly string[] | SubscriptionRequest): SubscriptionLists {
  if (typeof request === 'string' || Array.isArray(request)) {
    return { events: names('events', request as string | readonly string[]), channels: [] }
  }
  if (request === null || typeof request !== 'object') {
    throw new TypeError('subscribe takes an event, a list of events, or { events?, channels? }')
  }
  const { events, channels } = request as SubscriptionRequest
  const lists = {
    events: events === undefined ? [] : names('events', events),
    channels: channels === undefined ? [] : names('channels', channels)
  }
  if (lists.events.length === 0 && lists.channels.length === 0) throw new TypeError('give events or channels')
  return lists
}

function names (what: string, list: string | readonly string[]): string[] {
  const all = typeof list === 'string' ? [list] : [...list]
  if (all.length === 0 || !all.every(name => typeof name === 'string' && name.length > 0)) {
    throw new TypeError(`${what} must be a non-empty string or a non-empty array of non-empty strings`)
  }
  return [...new Set(all)]
}
