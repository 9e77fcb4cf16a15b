import { createVerifier } from 'fast-jwt'
import type { ResolvedOptions } from './options.js'
import type { JwtVerifier } from './handshake.js'

type JwtOptions = NonNullable<ResolvedOptions['jwt']>

/** The @fastify/jwt options the plugin registers, with the verify algorithm pinned. */
export function withPinnedAlgorithms (options: ResolvedOptions): JwtOptions {
  const jwt = options.jwt as JwtOptions
  const verify = { ...jwt.verify }
  if (options.clockToleranceMs > 0 && (verify as { clockTolerance?: number }).clockTolerance === undefined) {
    Object.assign(verify, { clockTolerance: options.clockToleranceMs })
  }
  // pin the algorithm: a token's own header never chooses how it is checked (no alg: none, no HS/RS confusion)
  if ((verify as { algorithms?: string[] }).algorithms === undefined) {
    const isSymmetric = typeof jwt.secret === 'string' || Buffer.isBuffer(jwt.secret)
    Object.assign(verify, { algorithms: isSymmetric ? ['HS256'] : ['RS256', 'ES256'] })
  }
  return { ...jwt, verify }
}

/**
 * @fastify/jwt merges its options on every verify() call; with a static key
 * one fast-jwt verifier built from the same options does the same check.
 * A verifier for a static key (a secret, or the public half of a key pair); undefined for key functions. */
export function directVerifier (jwt: JwtOptions): JwtVerifier | undefined {
  const secret = jwt.secret as unknown
  const key = typeof secret === 'string' || Buffer.isBuffer(secret)
    ? secret
    : (secret !== null && typeof secret === 'object' && 'public' in secret ? (secret as { public: unknown }).public : undefined)
  if (typeof key !== 'string' && !Buffer.isBuffer(key)) return undefined
  const verify = createVerifier({ ...(jwt.verify as Record<string, unknown>), key: key as string }) as (token: string) => unknown
  return { verify }
}
