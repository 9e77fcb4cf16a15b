/**
 * Channel names: `namespace:id`. The namespace is one the host declared
 * (checked at register time against NAMESPACE_PATTERN); the id is 1-128
 * characters of CHANNEL_ID_PATTERN, so a channel name is safe to log, to
 * echo and to use in a Redis channel name as it is.
 */
export const NAMESPACE_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/
export const CHANNEL_ID_PATTERN = /^[A-Za-z0-9_.@=-]{1,128}$/
/** The longest valid channel name: a 64-character namespace, the colon, a 128-character id. */
export const MAX_CHANNEL_LENGTH = 64 + 1 + 128
/** How much of a client's string an error echoes back. */
const ECHO_LIMIT = 200

export interface ParsedChannel {
  readonly namespace: string
  readonly id: string
}

/**
 * Splits a valid channel name whose namespace is in `namespaces`;
 * undefined for anything else (never throws, whatever the input).
 */
export function parseChannel (name: unknown, namespaces: ReadonlyMap<string, unknown>): ParsedChannel | undefined {
  if (typeof name !== 'string' || name.length > MAX_CHANNEL_LENGTH) return undefined
  const colon = name.indexOf(':')
  if (colon <= 0) return undefined
  const namespace = name.slice(0, colon)
  const id = name.slice(colon + 1)
  // a Map, not an object: "__proto__" or "constructor" finds nothing
  if (!namespaces.has(namespace) || !CHANNEL_ID_PATTERN.test(id)) return undefined
  return { namespace, id }
}

/** A client's string as an error may echo it: bounded. */
export function echo (value: string): string {
  return value.length > ECHO_LIMIT ? value.slice(0, ECHO_LIMIT) : value
}
