import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'
import type { FetchLike } from './preflight.js'
import type { Clock, RealtimeClientOptions, TokenProvider, WebSocketConstructor } from './types.js'

/** The defaults of the client's options (and of what the server may give instead: the ping interval). */
export const CLIENT_DEFAULTS = Object.freeze({
  /** Open this long and the attempt count resets. */
  stableAfterMs: 10_000,
  maxReconnectAttempts: Infinity,
  /** When neither the option nor the server's connection.established gives one. */
  pingIntervalMs: 30_000,
  /** The longest wait for a pong without the pongTimeoutMs option (shorter if the ping interval is). */
  maxPongTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  preflightTimeoutMs: 5_000,
  maxQueueSize: 100
})

/** The client's options with every default applied and checked. */
export interface ResolvedClientOptions {
  readonly url: string
  readonly token: string | TokenProvider
  readonly auth: 'subprotocol' | 'path'
  readonly WebSocket: WebSocketConstructor
  readonly fetch: FetchLike | undefined
  readonly reconnect: boolean
  readonly backoff: BackoffOptions
  readonly stableAfterMs: number
  readonly maxReconnectAttempts: number
  readonly pingIntervalMs: number | undefined
  readonly pongTimeoutMs: number | undefined
  readonly connectTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly preflightTimeoutMs: number
  readonly maxQueueSize: number
  readonly clock: Clock
  readonly random: () => number
}

function positive (name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TypeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`)
  }
  return value
}

/** ws(s):// as is, http(s):// converted, a path resolved against the page's location. */
export function resolveWebSocketUrl (url: string): string {
  let resolved: string
  if (/^wss?:\/\//i.test(url)) resolved = url
  else if (/^https?:\/\//i.test(url)) resolved = 'ws' + url.slice(4)
  else {
    const location = (globalThis as { location?: { protocol: string, host: string } }).location
    if (!url.startsWith('/') || location === undefined) {
      throw new TypeError(`url must be a ws://, wss://, http:// or https:// URL${location === undefined ? '' : ' or a path starting with /'}`)
    }
    resolved = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${url}`
  }
  return resolved.endsWith('/') ? resolved.slice(0, -1) : resolved
}

/** Applies the defaults; throws TypeError for a bad option. */
export function resolveClientOptions (options: RealtimeClientOptions): ResolvedClientOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('options are required: { url, token }')
  const token = options.token
  if (typeof token !== 'function' && (typeof token !== 'string' || token.length === 0)) {
    throw new TypeError('token must be a non-empty string or a function returning one')
  }
  const globalFetch = (globalThis as { fetch?: FetchLike }).fetch
  const fetch = options.fetch === false
    ? undefined
    : options.fetch ?? (typeof globalFetch === 'function' ? globalFetch.bind(globalThis) : undefined)
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff }
  positive('backoff.initialDelayMs', backoff.initialDelayMs, 0, true)
  positive('backoff.maxDelayMs', backoff.maxDelayMs, 0, true)
  if (!(backoff.multiplier >= 1)) throw new TypeError('backoff.multiplier must be at least 1')
  // called through the given object: a clock may be a class instance with private state
  const given = options.clock
  const clock: Clock = {
    setTimeout: given?.setTimeout === undefined
      ? (callback, ms) => globalThis.setTimeout(callback, ms)
      : (callback, ms) => (given as Clock).setTimeout(callback, ms),
    clearTimeout: given?.clearTimeout === undefined
      ? (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>)
      : (handle) => { (given as Clock).clearTimeout(handle) },
    now: given?.now === undefined ? () => Date.now() : () => (given as Clock).now()
  }
  const resolved = {
    url: resolveWebSocketUrl(options.url),
    token,
    auth: options.auth ?? 'subprotocol',
    fetch,
    reconnect: options.reconnect ?? true,
    backoff,
    stableAfterMs: positive('stableAfterMs', options.stableAfterMs, CLIENT_DEFAULTS.stableAfterMs, true),
    maxReconnectAttempts: positive('maxReconnectAttempts', options.maxReconnectAttempts, CLIENT_DEFAULTS.maxReconnectAttempts, true),
    pingIntervalMs: options.pingIntervalMs === undefined ? undefined : positive('pingIntervalMs', options.pingIntervalMs, 0),
    pongTimeoutMs: options.pongTimeoutMs === undefined ? undefined : positive('pongTimeoutMs', options.pongTimeoutMs, 0),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, CLIENT_DEFAULTS.connectTimeoutMs),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, CLIENT_DEFAULTS.requestTimeoutMs),
    preflightTimeoutMs: positive('preflightTimeoutMs', options.preflightTimeoutMs, CLIENT_DEFAULTS.preflightTimeoutMs),
    maxQueueSize: positive('maxQueueSize', options.maxQueueSize, CLIENT_DEFAULTS.maxQueueSize, true),
    clock,
    random: options.random ?? Math.random
  } as const
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (typeof WebSocketImpl !== 'function') {
    throw new TypeError('no WebSocket implementation: pass one as the WebSocket option (e.g. the ws package on Node 20)')
  }
  return { ...resolved, WebSocket: WebSocketImpl }
}
