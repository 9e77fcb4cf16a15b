/**
 * Whether one more connection fits: one rule for the handshake (before the
 * upgrade, answered with an HTTP status) and for the check again after the
 * upgrade (concurrent handshakes can race past the first one).
 */

export const Refusal = {
  /** maxConnections reached on this node. */
  full: 'full',
  /** maxConnectionsPerUser reached for this user on this node. */
  userLimit: 'user-limit'
} as const
export type Refusal = typeof Refusal[keyof typeof Refusal]

export interface AdmissionLimits {
  readonly maxConnections: number
  readonly maxConnectionsPerUser: number
}

export interface ConnectionCounts {
  readonly size: number
  countForUser (userId: string): number
}

/** Undefined when it fits; without a user id (before the token is read) only the node's limit is checked. */
export function admissionRefusal (connections: ConnectionCounts, limits: AdmissionLimits, userId: string | undefined): Refusal | undefined {
  if (connections.size >= limits.maxConnections) return Refusal.full
  if (userId !== undefined && connections.countForUser(userId) >= limits.maxConnectionsPerUser) return Refusal.userLimit
  return undefined
}
