import { randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ResolvedOptions } from './options.js'
import type { RealtimeNode, Identity } from './realtime-node.js'
import type { Adapter } from './adapters/adapter.js'
import type { RealtimeTokenPayload, RealtimeUser } from './host-types.js'
import {
  ForbiddenOriginError, HandshakeRateLimitedError, HandshakeTimeoutError, ServerClosingError, ServerFullError,
  ServerOverloadedError, UnauthorizedError, UserConnectionLimitError
} from './errors.js'
import { isThenable, type JwtVerifier } from './jwt.js'
import { addressKey, type FailedHandshakes } from './failed-handshakes.js'
import { dropBearerProtocol, extractToken } from './handshake-token.js'
import { admissionRefusal, Refusal } from './admission.js'
import type { RealtimeClock, TimerHandle } from './clock.js'

export { redactUrl } from './handshake-token.js'
export type { JwtVerifier } from './jwt.js'

interface HandshakeError extends Error {
  statusCode?: number
  code: string
}

/** Where the handshake leaves who the client is, for the upgrade handler to pick up. */
export interface IdentityStore {
  get (request: FastifyRequest): Identity | undefined
  set (request: FastifyRequest, identity: Identity): void
  delete (request: FastifyRequest): void
}

const IDENTITY_DECORATOR = 'fastifyRealtimeIdentity'
type RequestWithIdentity = FastifyRequest & { [IDENTITY_DECORATOR]: Identity | null }

/**
 * A request decoration (declared once on the plugin's routes, so every
 * request object keeps one shape) rather than a WeakMap lookup per handshake.
 */
export function requestIdentityStore (scope: { decorateRequest (name: string, value: null): unknown }): IdentityStore {
  scope.decorateRequest(IDENTITY_DECORATOR, null)
  return {
    // read only once the handshake set it (the upgrade handler, the abandon watch): null is the decoration's shape
    /* c8 ignore next */
    get: (request) => (request as RequestWithIdentity)[IDENTITY_DECORATOR] ?? undefined,
    set: (request, identity) => { (request as RequestWithIdentity)[IDENTITY_DECORATOR] = identity },
    delete: (request) => { (request as RequestWithIdentity)[IDENTITY_DECORATOR] = null }
  }
}

export interface HandshakeDeps {
  options: ResolvedOptions
  node: RealtimeNode
  adapter: Adapter
  verifier: () => JwtVerifier
  identities: IdentityStore
  /** The flood bound (failedHandshakeLimit); undefined when it is off. */
  failures: FailedHandshakes | undefined
}

interface Verified { payload: Record<string, unknown>, userId: string }
type TokenCheck = HandshakeError | Verified

/** Failures that count towards an address's flood bound: a bad credential or origin, never a limit or an outage. */
const isFailure = (statusCode: number | undefined): boolean => statusCode === undefined || statusCode === 401 || statusCode === 403

/**
 * Runs before the upgrade, so every refusal is a real HTTP response with a
 * JSON body, and nothing is allocated for a refused connection.
 */
export function createHandshakeHook (deps: HandshakeDeps) {
  const { options, node, adapter, identities, failures } = deps
  const clock = options.clock

  // A callback hook with a synchronous path: with a static key, no authenticate
  // hook and no cluster slot to claim, a handshake costs no promise, timer or microtask.
  return function realtimeHandshake (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    const address = trackedAddress(request)
    // an address over its failure budget: every further failure is a 429 with Retry-After
    const overBudgetMs = address === undefined ? 0 : (failures as FailedHandshakes).retryAfterMs(address, clock.now())
    // a key function may fetch keys (JWKS): an address over its budget gets no such work, it is answered here.
    // A static key's check costs microseconds, so a valid token still gets in (a NAT neighbour of a flooder).
    if (overBudgetMs > 0 && deps.verifier().isAsync === true) return refuseFlood(request, reply, overBudgetMs)
    const token = checkBeforeToken(request)
    if (typeof token !== 'string') return refuse(request, reply, token, address, overBudgetMs)
    const verified = verifyToken(token, request)
    if (verified instanceof Error) return refuse(request, reply, verified, address, overBudgetMs)
    if (!(verified instanceof Promise) && options.authenticate === undefined && !claimsSlot(request)) {
      const outcome = admit(verified.payload, verified.userId, undefined)
      if (outcome instanceof Error) return refuse(request, reply, outcome, address, overBudgetMs)
      accepted(request, outcome, address)
      return done()
    }
    withinDeadline(slowChecks(request, verified), options.handshakeTimeoutMs, clock, (late) => releaseSlot(adapter, late, request))
      .then((outcome) => {
        if (outcome === TIMED_OUT) return refuse(request, reply, new HandshakeTimeoutError(), address, overBudgetMs)
        if (outcome instanceof Error) return refuse(request, reply, outcome, address, overBudgetMs)
        accepted(request, outcome, address)
        done()
      }, done)
  }

  function refuse (request: FastifyRequest, reply: FastifyReply, refusal: HandshakeError, address: string | undefined, overBudgetMs = 0): void {
    if (overBudgetMs > 0 && isFailure(refusal.statusCode)) return refuseFlood(request, reply, overBudgetMs)
    node.counters.connectionsRejected++
    if (failures !== undefined && isFailure(refusal.statusCode)) {
      const failedAddress = address ?? clientAddress(request)
      if (failedAddress !== undefined) failures.failed(failedAddress, clock.now())
    }
    node.handshakes.refused(request, refusal)
    request.log.debug({ statusCode: refusal.statusCode, code: refusal.code }, 'websocket handshake refused')
    /* c8 ignore next */ // every refusal the plugin builds carries its status (lib/errors.ts); 401 is for the type
    const statusCode = refusal.statusCode ?? 401
    reply.code(statusCode).send({ statusCode, code: refusal.code, error: errorName(statusCode), message: refusal.message })
  }

  function refuseFlood (request: FastifyRequest, reply: FastifyReply, retryAfterMs: number): void {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
    reply.header('retry-after', String(seconds))
    refuse(request, reply, new HandshakeRateLimitedError(seconds === 1 ? '1 second' : `${seconds} seconds`), undefined)
  }

  /**
   * The address whose failures are tracked, when any is: while no address has
   * failed, every budget is whole and a success changes nothing, so a valid
   * handshake reads no address (request.ip is a getpeername() call). A refusal
   * reads it then.
   */
  function trackedAddress (request: FastifyRequest): string | undefined {
    return failures === undefined || failures.trackedAddresses === 0 ? undefined : clientAddress(request)
  }

  function accepted (request: FastifyRequest, identity: Identity, address: string | undefined): void {
    identities.set(request, identity)
    // a completed upgrade buys its address one more failure: crowds behind one address are not locked out
    // (an address may have failed meanwhile, while a slow check was awaited: read it now if so)
    const succeededAddress = address ?? trackedAddress(request)
    if (succeededAddress !== undefined && isUpgrade(request)) (failures as FailedHandshakes).succeeded(succeededAddress, clock.now())
    if (identity.connectionId === undefined) return
    // a client that goes away between these checks and the upgrade must not keep its cluster slot
    const onAbandon = (): void => {
      /* c8 ignore next */ // the socket closed in the instant after the upgrade handler took the identity: the connection's own close releases the slot
      if (identities.get(request) !== identity) return
      identities.delete(request)
      releaseSlot(adapter, identity, request)
    }
    identity.stopWatching = () => request.raw.socket?.removeListener('close', onAbandon)
    request.raw.socket?.once('close', onAbandon)
  }

  /** A plain GET (the preflight) only asks whether it would be accepted: it claims no slot. */
  function claimsSlot (request: FastifyRequest): boolean {
    return adapter.acquireConnection !== undefined && isUpgrade(request)
  }

  /** The cheap checks first (origin, closing, capacity, load), then the token is found. */
  function checkBeforeToken (request: FastifyRequest): HandshakeError | string {
    if (options.allowedOrigins !== undefined && !options.allowedOrigins(request.headers.origin, request)) {
      return new ForbiddenOriginError()
    }
    if (node.isClosing) return new ServerClosingError()
    if (admissionRefusal(node.registry, options, undefined) !== undefined) return new ServerFullError()
    if (node.load.isOverloaded(options.maxEventLoopDelayMs)) return new ServerOverloadedError()

    const token = extractToken(request)
    dropBearerProtocol(request)
    if (token === undefined || token.length === 0) return new UnauthorizedError('Missing token')
    return token
  }

  /**
   * A static key answers synchronously; a key function (JWKS) with a Promise,
   * which is always handled here: a refusal is a 401, never an unhandled rejection.
   */
  function verifyToken (token: string, request: FastifyRequest): TokenCheck | Promise<TokenCheck> {
    let result: unknown
    try {
      result = deps.verifier().verify(token, request)
    } catch (err) {
      return tokenRefusal(err, request)
    }
    if (isThenable(result)) return Promise.resolve(result).then(toVerified, (err: unknown) => tokenRefusal(err, request))
    return toVerified(result)
  }

  /** The limits, checked again after any await: other handshakes may have been admitted, or close() begun, meanwhile. */
  function admit (payload: Record<string, unknown>, userId: string, user: RealtimeUser): HandshakeError | Identity {
    if (node.isClosing) return new ServerClosingError()
    const refusal = admissionRefusal(node.registry, options, userId)
    if (refusal === Refusal.full) return new ServerFullError()
    if (refusal === Refusal.userLimit) return new UserConnectionLimitError(options.maxConnectionsPerUser)
    const exp = payload.exp
    return { userId, user, expiresAt: typeof exp === 'number' ? exp * 1000 : Infinity }
  }

  /** An asynchronous verification, the host's authenticate hook and the cluster-wide slot: bounded by handshakeTimeoutMs. */
  async function slowChecks (request: FastifyRequest, pending: TokenCheck | Promise<TokenCheck>): Promise<HandshakeError | Identity> {
    const verified = await pending
    if (verified instanceof Error) return verified
    let userId = verified.userId
    let user: RealtimeUser
    if (options.authenticate !== undefined) {
      if (node.isClosing) return new ServerClosingError()
      let result
      try {
        // the hook sees `sub` as the checked user id string, also when the token's sub is a number
        result = await options.authenticate({ ...verified.payload, sub: verified.userId } as RealtimeTokenPayload, request)
      } catch (err) {
        request.log.warn({ err }, 'authenticate hook failed')
        return new UnauthorizedError('Authentication failed')
      }
      if (result === false || result === null) return new UnauthorizedError('User not found or inactive')
      if (typeof result === 'object') {
        if (typeof result.userId === 'string' && result.userId.length > 0) userId = result.userId
        user = result.user
      }
    }
    const identity = admit(verified.payload, userId, user)
    if (identity instanceof Error || !claimsSlot(request)) return identity
    const connectionId = randomUUID()
    let acquired: boolean
    try {
      acquired = await (adapter.acquireConnection as NonNullable<Adapter['acquireConnection']>)(userId, connectionId, options.maxConnectionsPerUser)
    } catch (err) {
      // the cluster's count is unreachable: fall back to the local limit checked above
      request.log.warn({ err }, 'could not reach the adapter to count connections; using the local limit')
      acquired = true
    }
    if (!acquired) return new UserConnectionLimitError(options.maxConnectionsPerUser)
    identity.connectionId = connectionId
    if (node.isClosing) {
      releaseSlot(adapter, identity, request)
      return new ServerClosingError()
    }
    return identity
  }
}

/** What the verifier gave back: a payload with a user id, or a 401. */
function toVerified (result: unknown): TokenCheck {
  if (result === null || typeof result !== 'object') return new UnauthorizedError('Invalid token')
  const payload = result as Record<string, unknown>
  const sub = payload.sub
  const userId = typeof sub === 'string' ? sub : (typeof sub === 'number' ? String(sub) : '')
  if (userId.length === 0) return new UnauthorizedError('Invalid token: missing user ID')
  return { payload, userId }
}

/**
 * fast-jwt's and @fastify/jwt's messages describe the failure, never the
 * token; a key function's own errors (a JWKS fetch) may name internal hosts,
 * so they are logged at debug and answered with a fixed text.
 */
function tokenRefusal (err: unknown, request: FastifyRequest): HandshakeError {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && (code.startsWith('FAST_JWT_') || code.startsWith('FST_JWT_'))) {
    return new UnauthorizedError(`Authentication failed: ${String((err as Error).message).slice(0, 200)}`)
  }
  request.log.debug({ code: typeof code === 'string' ? code.slice(0, 64) : undefined }, 'token verification failed')
  return new UnauthorizedError('Authentication failed: the token could not be verified')
}

/** `request.ip` honours Fastify's `trustProxy`; injectWS has none, and is not limited. */
function clientAddress (request: FastifyRequest): string | undefined {
  const ip = request.ip as string | undefined
  return typeof ip === 'string' && ip.length > 0 ? addressKey(ip) : undefined
}

function isUpgrade (request: FastifyRequest): boolean {
  return (request as FastifyRequest & { ws?: boolean }).ws === true
}

const TIMED_OUT = Symbol('timed out')

/**
 * Bounds the checks (a slow authenticate hook, an unreachable cluster) so a
 * handshake cannot hold a socket open indefinitely. A check that finishes
 * after the deadline gives back the slot it may have claimed.
 */
async function withinDeadline (
  pending: Promise<HandshakeError | Identity>,
  timeoutMs: number,
  clock: RealtimeClock,
  onLateIdentity: (identity: Identity) => void
): Promise<HandshakeError | Identity | typeof TIMED_OUT> {
  let timer: TimerHandle | undefined
  let isLate = false
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = clock.setTimeout(() => { isLate = true; resolve(TIMED_OUT) }, timeoutMs)
  })
  pending.then((outcome) => {
    if (isLate && !(outcome instanceof Error)) onLateIdentity(outcome)
  }, () => {})
  try {
    return await Promise.race([pending, deadline])
  } finally {
    clock.clearTimeout(timer)
  }
}

/** Gives back a cluster slot claimed for a connection that never opened. */
export function releaseSlot (adapter: Adapter, identity: Identity, request: FastifyRequest): void {
  if (identity.connectionId === undefined || adapter.releaseConnection === undefined) return
  adapter.releaseConnection(identity.userId, identity.connectionId).catch((err: unknown) => {
    request.log.warn({ err }, 'could not release the connection slot of an abandoned handshake')
  })
}

function errorName (statusCode: number): string {
  switch (statusCode) {
    case 401: return 'Unauthorized'
    case 403: return 'Forbidden'
    case 429: return 'Too Many Requests'
    default: return 'Service Unavailable'
  }
}
