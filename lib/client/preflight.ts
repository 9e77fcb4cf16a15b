/**
 * A browser only sees close code 1006 when the server refuses an upgrade.
 * The server answers the same URL as a plain GET (no Upgrade) after running
 * the same checks: 401/403/429/503 with a JSON body, or 426 when the
 * handshake would be accepted. This asks it why a connection attempt failed.
 */

/** The part of `fetch` the preflight uses (the global fetch fits). */
export type FetchLike = (url: string, init: {
  method: 'GET'
  headers: Record<string, string>
  signal?: AbortSignal
}) => Promise<FetchResponseLike>

export interface FetchResponseLike {
  readonly status: number
  readonly headers: { get (name: string): string | null }
  json? (): Promise<unknown>
}

export type PreflightVerdict =
  /** 401: the token is refused. */
  | { kind: 'unauthorized', statusCode: number, message: string }
  /** 403 or another 4xx that trying again cannot fix (e.g. a wrong path). */
  | { kind: 'refused', statusCode: number, message: string }
  /** 429 or 503 (and 408/425): try again later, longer than usual. */
  | { kind: 'busy', statusCode: number, message: string, retryAfterMs: number | undefined }
  /** 426: the handshake would be accepted now; the failure was transient. Also other 5xx. */
  | { kind: 'transient', statusCode: number, message: string }
  /** No HTTP answer at all: the server is down or unreachable. */
  | { kind: 'unreachable', message: string, cause: unknown }
  /** No fetch available or preflight disabled: nothing is known. */
  | { kind: 'unknown', message: string }

/** ws://host/path -> http://host/path (the preflight speaks plain HTTP). */
export function toHttpUrl (wsUrl: string): string {
  if (wsUrl.startsWith('wss://')) return 'https://' + wsUrl.slice(6)
  if (wsUrl.startsWith('ws://')) return 'http://' + wsUrl.slice(5)
  return wsUrl
}

/** Retry-After is seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter (value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

export function classifyStatus (statusCode: number, message: string, retryAfterMs: number | undefined): PreflightVerdict {
  if (statusCode === 401) return { kind: 'unauthorized', statusCode, message }
  if (statusCode === 429 || statusCode === 503 || statusCode === 408 || statusCode === 425) {
    return { kind: 'busy', statusCode, message, retryAfterMs }
  }
  if (statusCode >= 400 && statusCode < 500 && statusCode !== 426) return { kind: 'refused', statusCode, message }
  return { kind: 'transient', statusCode, message }
}

export interface PreflightRequest {
  fetch: FetchLike
  /** The WebSocket URL that failed (ws:// or wss://). */
  url: string
  token: string
  nowMs: number
  signal?: AbortSignal
}

export async function preflight (request: PreflightRequest): Promise<PreflightVerdict> {
  let response: FetchResponseLike
  try {
    const init: Parameters<FetchLike>[1] = { method: 'GET', headers: { authorization: `Bearer ${request.token}`, accept: 'application/json' } }
    if (request.signal !== undefined) init.signal = request.signal
    response = await request.fetch(toHttpUrl(request.url), init)
  } catch (cause) {
    return { kind: 'unreachable', message: 'the server did not answer', cause }
  }
  let message = `HTTP ${response.status}`
  if (typeof response.json === 'function') {
    try {
      const body = await response.json()
      if (body !== null && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
        message = (body as { message: string }).message
      }
    } catch {
      // not JSON (a proxy's HTML page): the status says enough
    }
  }
  return classifyStatus(response.status, message, parseRetryAfter(response.headers.get('retry-after'), request.nowMs))
}

export interface AskServerRequest {
  /** undefined: no fetch to ask with (the verdict is `unknown`). */
  fetch: FetchLike | undefined
  url: string
  token: string
  clock: { setTimeout (callback: () => void, ms: number): unknown, clearTimeout (handle: unknown): void }
  timeoutMs: number
}

/** preflight(), given up (aborted) after timeoutMs where AbortController exists. */
export async function askServer (ask: AskServerRequest): Promise<PreflightVerdict> {
  const fetch = ask.fetch
  if (fetch === undefined) return { kind: 'unknown', message: 'no fetch to ask the server with' }
  const clock = ask.clock
  const controller = typeof AbortController === 'function' ? new AbortController() : undefined
  const timer = controller === undefined ? undefined : clock.setTimeout(() => controller.abort(), ask.timeoutMs)
  try {
    const request: PreflightRequest = { fetch, url: ask.url, token: ask.token, nowMs: Date.now() }
    if (controller !== undefined) request.signal = controller.signal
    return await preflight(request)
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer)
  }
}
