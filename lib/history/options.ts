import { Type, type Static } from '@sinclair/typebox'

/** The longest history a stream may keep: messages and age. */
export const MAX_HISTORY_SIZE = 100_000
export const MAX_HISTORY_TTL_MS = 7 * 24 * 3_600_000

/**
 * A stream's history: how many of its last messages are kept (`size`) and
 * for how long (`ttlMs`). A client that reconnects within both gets what it
 * missed; beyond either it is told `too_old`.
 */
export const HistoryOptionsSchema = Type.Object({
  size: Type.Integer({ minimum: 1, maximum: MAX_HISTORY_SIZE, default: 100, description: 'messages kept per stream' }),
  ttlMs: Type.Integer({ minimum: 1, maximum: MAX_HISTORY_TTL_MS, default: 300_000, description: 'how long a message stays recoverable' })
}, { additionalProperties: false })
export type HistoryOptions = Static<typeof HistoryOptionsSchema>
