import { CloseCode, WireError } from '../protocol/codes.js'

/**
 * Label values a metric may carry: every one comes from a set this package
 * (or the host's declared message types and events) fixes, never from what a
 * client sent, so a scrape's size does not depend on the traffic.
 */

/** Label of anything outside a bounded set. */
export const OTHER = 'other'
/** Message-type label of a frame that did not decode to a declared type. */
export const UNKNOWN_TYPE = 'unknown'

/** A tally keyed by a bounded label: a plain object without a prototype (no "__proto__" or "constructor" key to hit). */
export type Tally = Record<string, number>

export function createTally (): Tally {
  return Object.create(null) as Tally
}

export function bump (tally: Tally, key: string): void {
  tally[key] = (tally[key] ?? 0) + 1
}

const REFUSAL_PREFIX = 'FST_REALTIME_'

/** The handshake refusal reasons named by the issue, by error code; other FST_REALTIME_ codes become their own lower-case suffix. */
const REFUSAL_REASONS: Readonly<Record<string, string>> = {
  FST_REALTIME_UNAUTHORIZED: 'unauthorized',
  FST_REALTIME_FORBIDDEN_ORIGIN: 'forbidden_origin',
  FST_REALTIME_USER_CONNECTION_LIMIT: 'user_limit',
  FST_REALTIME_SERVER_FULL: 'server_full',
  FST_REALTIME_SERVER_OVERLOADED: 'overloaded',
  FST_REALTIME_HANDSHAKE_RATE_LIMITED: 'handshake_rate_limited',
  FST_REALTIME_HANDSHAKE_TIMEOUT: 'handshake_timeout'
}

/** Every reason a scrape shows (at 0 until it happens). */
export const KNOWN_REFUSAL_REASONS: readonly string[] = Object.values(REFUSAL_REASONS)

/**
 * A refusal's `reason` label from its error code. Codes are this package's
 * own (errors.ts), so a refusal added later gets a label of its own without
 * an edit here; anything else is `other`.
 */
export function refusalReason (code: string | undefined): string {
  if (code === undefined) return OTHER
  const known = REFUSAL_REASONS[code]
  if (known !== undefined) return known
  return code.startsWith(REFUSAL_PREFIX) && code.length <= 64 ? code.slice(REFUSAL_PREFIX.length).toLowerCase() : OTHER
}

/** Codes a peer's close can carry that say something: ours, and the standard ones ws reports. */
const STANDARD_CLOSE_NAMES: Readonly<Record<number, string>> = {
  1000: 'NORMAL',
  1001: 'GOING_AWAY',
  1005: 'NO_STATUS',
  1006: 'ABNORMAL'
}

const CLOSE_NAMES = new Map<number, string>()
for (const [code, name] of Object.entries(STANDARD_CLOSE_NAMES)) CLOSE_NAMES.set(Number(code), name)
for (const [key, code] of Object.entries(CloseCode)) CLOSE_NAMES.set(code, key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase())

/** The `code` label of a closed connection: a known close code as a number, anything a peer made up as `other`. */
export function closeLabel (code: number): string {
  return CLOSE_NAMES.has(code) ? String(code) : OTHER
}

/** The stable name a close's log line carries in `code` (HEARTBEAT_TIMEOUT, SLOW_CONSUMER, ...). */
export function closeName (code: number): string {
  return CLOSE_NAMES.get(code) ?? 'OTHER'
}

const WIRE_CODES: ReadonlySet<string> = new Set(Object.values(WireError))
export const KNOWN_WIRE_CODES: readonly string[] = [...WIRE_CODES]

/** The `code` label of an error frame: a wire code of the protocol, else `other`. */
export function wireCodeLabel (code: string): string {
  return WIRE_CODES.has(code) ? code : OTHER
}

/** The fields every close log line carries: a stable `code` name and the close code itself. */
export function closeFields (code: number): { code: string, closeCode: number } {
  return { code: closeName(code), closeCode: code }
}

/** A channel presence change: a user entered (`joined`) or left (`left`) a channel of a namespace with presence. */
export type ChannelPresenceChange = 'joined' | 'left'
export const CHANNEL_PRESENCE_CHANGES: readonly ChannelPresenceChange[] = ['joined', 'left']

/** Tally key of a (namespace, change) pair: namespaces never hold a space (NAMESPACE_PATTERN). */
export function channelPresenceKey (namespace: string, change: ChannelPresenceChange): string {
  return namespace + ' ' + change
}

/** A stream's outcome in recovery.result: `recovered`, or the reason it was not. */
export const RECOVERY_OUTCOMES = ['recovered', 'epoch_changed', 'too_old', 'too_many', 'no_history', 'forbidden', 'unavailable'] as const
export type RecoveryOutcome = typeof RECOVERY_OUTCOMES[number] | typeof OTHER
const OUTCOMES: ReadonlySet<string> = new Set(RECOVERY_OUTCOMES)

/** The `result` label of a stream not recovered: its reason, if the protocol names it, else `other`. */
export function recoveryOutcome (reason: string | undefined): RecoveryOutcome {
  return reason !== undefined && OUTCOMES.has(reason) ? reason as RecoveryOutcome : OTHER
}

/** The recovery kind of a user's inbox; a channel's kind is its namespace. */
export const RECOVERY_INBOX = 'inbox'

/** Tally key of a (kind, result) pair. */
export function recoveryKey (kind: string, result: RecoveryOutcome): string {
  return kind + ' ' + result
}
