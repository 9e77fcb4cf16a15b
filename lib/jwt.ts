import type { FastifyRequest } from 'fastify'
import { createVerifier } from 'fast-jwt'
import type { ResolvedOptions } from './options.js'
import { systemClock, type RealtimeClock } from './clock.js'

type JwtOptions = NonNullable<ResolvedOptions['jwt']>

/**
 * Checks a token. Returns the payload (or throws) for a static key; returns a
 * Promise of it for a key function (JWKS), whose key may need fetching.
 */
export interface JwtVerifier {
  verify (token: string, request: FastifyRequest): unknown
  /** A key function (JWKS): verifying may fetch keys, so a flooding address gets none of it. */
  readonly isAsync?: boolean
}

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
 * The verifier for the plugin's own @fastify/jwt registration. @fastify/jwt
 * merges its options on every verify() call; with a static key (a secret, or
 * the public half of a key pair) one fast-jwt verifier built from the same
 * options does the same check, synchronously. A key function goes through
 * @fastify/jwt's request verification, which calls it as @fastify/jwt
 * documents: `(request, decodedToken)`.
 */
export function ownVerifier (jwt: JwtOptions, clock: RealtimeClock): JwtVerifier {
  const secret = jwt.secret as unknown
  const key = typeof secret === 'string' || Buffer.isBuffer(secret)
    ? secret
    : (secret !== null && typeof secret === 'object' && 'public' in secret ? (secret as { public: unknown }).public : undefined)
  if (typeof key !== 'string' && !Buffer.isBuffer(key)) return requestVerifier(clock)
  const options = { ...(jwt.verify as Record<string, unknown>), key: key as string }
  if (clock !== systemClock) {
    // fast-jwt reads the time once per verifier (clockTimestamp): a clock of the test's own needs one per check
    return { verify: (token) => (createVerifier({ ...options, clockTimestamp: clock.now() }) as (token: string) => unknown)(token) }
  }
  const verify = createVerifier(options) as (token: string) => unknown
  return { verify }
}

/**
 * The verifier for a host's @fastify/jwt. Its `app.jwt.verify(token)` is
 * synchronous with a static key; with a key function it cannot give that
 * function the request (the function gets fast-jwt's arguments, not
 * @fastify/jwt's), so those go through the request's `jwtVerify` instead.
 */
export function hostVerifier (jwt: HostJwt, clock: RealtimeClock): JwtVerifier {
  if (hasKeyFunction(jwt)) return requestVerifier(clock)
  if (clock === systemClock) return { verify: (token) => jwt.verify(token) }
  return { verify: (token) => jwt.verify(token, { clockTimestamp: clock.now() }) }
}

interface HostJwt { verify (token: string, options?: { clockTimestamp: number }): unknown }

/**
 * fast-jwt is asynchronous exactly when its key is a function: then even a
 * malformed token gets a (rejected) Promise, decided before the key function
 * is called, so this probe fetches nothing.
 */
function hasKeyFunction (jwt: HostJwt): boolean {
  let probe: unknown
  try {
    probe = jwt.verify('not-a-token')
  } catch {
    return false
  }
  /* c8 ignore next */ // a static key throws on a malformed token; a verify that returns is not fast-jwt's
  if (!isThenable(probe)) return false
  probe.then(undefined, () => {})
  return true
}

/** Verifies through @fastify/jwt's `request.jwtVerify`, with the token the handshake found. */
const requestVerifier = (clock: RealtimeClock): JwtVerifier => ({
  isAsync: true,
  verify: (token, request) => new Promise((resolve, reject) => {
    // @fastify/jwt merges these into its verify options; a clock of the test's own sets the time of the check
    const time = clock === systemClock ? undefined : { clockTimestamp: clock.now() }
    const options = { extractToken: () => token, ...time } as unknown as Parameters<FastifyRequest['jwtVerify']>[0]
    request.jwtVerify(options as never, (err: Error | null, payload: unknown) => {
      if (err !== null && err !== undefined) reject(err)
      else resolve(payload)
    })
  })
})

export function isThenable (value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
}
