/**
 * The handshake flood bound: failed handshakes (bad or missing token, refused
 * origin, refused by `authenticate`) per client address, in a fixed window.
 *
 * Successful handshakes are never limited: behind a reverse proxy without
 * `trustProxy`, or a company NAT, thousands of users share one address, and a
 * default must not refuse them. Each handshake an address completes also buys
 * it one more failure in the window, so the few failures of a crowd (tokens
 * that expired overnight) never lock that crowd out; an address that only
 * fails (a flood of garbage tokens) is refused after `max`, before any token
 * work, until its window ends.
 */
export interface FailedHandshakeLimit {
  /** Failures per address per window, on top of one per successful handshake. */
  max: number
  windowMs: number
}

interface AddressWindow {
  startedAt: number
  failures: number
  successes: number
}

/** Addresses remembered at once (about 100 bytes each): past it, the oldest windows are forgotten. */
export const MAX_TRACKED_ADDRESSES = 10_000

export class FailedHandshakes {
  readonly #max: number
  readonly #windowMs: number
  readonly #maxAddresses: number
  /** In the order windows started: the oldest first, so pruning stops at the first live one. */
  readonly #windows = new Map<string, AddressWindow>()

  constructor (limit: FailedHandshakeLimit, maxAddresses = MAX_TRACKED_ADDRESSES) {
    this.#max = limit.max
    this.#windowMs = limit.windowMs
    this.#maxAddresses = maxAddresses
  }

  get trackedAddresses (): number {
    return this.#windows.size
  }

  /** 0 when the address may try; otherwise how long until its window ends. */
  retryAfterMs (address: string, now: number): number {
    const window = this.#live(address, now)
    if (window === undefined || window.failures < this.#max + window.successes) return 0
    return window.startedAt + this.#windowMs - now
  }

  failed (address: string, now: number): void {
    const window = this.#live(address, now)
    if (window !== undefined) {
      window.failures++
      return
    }
    this.#windows.delete(address)
    this.#windows.set(address, { startedAt: now, failures: 1, successes: 0 })
    if (this.#windows.size > this.#maxAddresses) this.#prune()
  }

  /** Only an address that has failed in this window needs its successes counted. */
  succeeded (address: string, now: number): void {
    const window = this.#live(address, now)
    if (window !== undefined) window.successes++
  }

  #live (address: string, now: number): AddressWindow | undefined {
    const window = this.#windows.get(address)
    return window !== undefined && now - window.startedAt < this.#windowMs ? window : undefined
  }

  /** The oldest windows go first (the ended ones are the oldest): memory stays bounded whatever the number of addresses. */
  #prune (): void {
    const oldestFirst = this.#windows.keys()
    while (this.#windows.size > this.#maxAddresses) this.#windows.delete(oldestFirst.next().value as string)
  }
}

/**
 * The key an address is counted under. An IPv4-mapped IPv6 address is the
 * IPv4 one; a native IPv6 address counts by its /64, the block one subscriber
 * usually holds (like @fastify/rate-limit), so rotating through it gains nothing.
 */
export function addressKey (ip: string): string {
  if (!ip.includes(':')) return ip
  const lower = ip.toLowerCase()
  if (lower.startsWith('::ffff:') && lower.includes('.')) return lower.slice(7)
  const zone = lower.indexOf('%')
  const address = zone === -1 ? lower : lower.slice(0, zone)
  const [head = '', tail] = address.split('::')
  const groups = head === '' ? [] : head.split(':')
  if (tail !== undefined) {
    const tailGroups = tail === '' ? [] : tail.split(':')
    while (groups.length + tailGroups.length < 8) groups.push('0')
    groups.push(...tailGroups)
  }
  return groups.slice(0, 4).map(group => group.replace(/^0+(?=.)/, '')).join(':') + '::/64'
}
