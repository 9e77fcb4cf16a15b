import type { StreamPosition } from './server-messages.js'

/**
 * The inbox position travels in the handshake, as the query parameter
 * `inbox=<epoch>:<offset>` of the WebSocket URL (with any token transport),
 * because the inbox is live from a connection's first moment: its replay
 * comes right after connection.established, before any live inbox message.
 */
export const INBOX_QUERY_PARAMETER = 'inbox'

/** What an epoch may be: the server's are 11 characters of base64url. */
const EPOCH_PATTERN = /^[A-Za-z0-9_-]{1,64}$/
const OFFSET_PATTERN = /^(0|[1-9][0-9]{0,15})$/

/** `<epoch>:<offset>`, the value of the inbox query parameter. */
export function formatInboxPosition (position: StreamPosition): string {
  return `${position.epoch}:${position.offset}`
}

/** The position in an inbox query value, or undefined for anything malformed (never throws). */
export function parseInboxPosition (value: unknown): StreamPosition | undefined {
  if (typeof value !== 'string' || value.length > 82) return undefined
  const colon = value.lastIndexOf(':')
  if (colon <= 0) return undefined
  const epoch = value.slice(0, colon)
  const offset = value.slice(colon + 1)
  if (!EPOCH_PATTERN.test(epoch) || !OFFSET_PATTERN.test(offset)) return undefined
  const number = Number(offset)
  return Number.isSafeInteger(number) ? { epoch, offset: number } : undefined
}
