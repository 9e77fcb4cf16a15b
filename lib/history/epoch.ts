import { randomBytes } from 'node:crypto'

/** A new stream history's name: 64 random bits, 11 characters of base64url. */
export function newEpoch (): string {
  return randomBytes(8).toString('base64url')
}

/**
 * How long a stream's position (epoch, offset) outlives its last message,
 * so that a client back after a long quiet spell (past ttlMs, nothing
 * missed) is told `recovered, missed: 0` rather than `epoch_changed`.
 */
export const POSITION_RETENTION_MS = 24 * 3_600_000
