import { randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ResolvedOptions } from './options.js'
import type { RealtimeNode, Identity } from './realtime-node.js'
import type { Adapter } from './adapters/adapter.js'
import type { RealtimeTokenPayload, RealtimeUser } from './host-types.js'
import {
  ForbiddenOriginError, HandshakeTimeoutError, ServerFullError, ServerOverloadedError, UnauthorizedError, UserConnectionLimitError
} from './errors.js'

/** The subprotocol the server speaks; a browser offers it with `bearer.<jwt>`. */
export const SUBPROTOCOL = 'fastify-realtime.v1'
const BEARER_PROTOCOL_PREFIX = 'bearer.'

export interface JwtVerifier {
  verify (token: string): unknown
}

interface HandshakeError extends Error {
  statusCode?: number
  code: string
}

/**
 * Where a token can be: the seed's path (`/ws/<token>`), a `bearer.<jwt>`
 * subprotocol (the one header a browser can set), or `Authorization: Bearer`.
 */
export function extractToken (request: FastifyRequest): string | undefined {
  const params = request.params as Record<string, string | undefined> | undefined
  const fromPath = params?.['*']
  if (fromPath !== undefined && fromPath.length > 0) return fromPath.includes('/') ? undefined : fromPath
  const protocols = request.headers['sec-websocket-protocol']
  if (typeof protocols === 'string') {
    for (const offered of protocols.split(',')) {
      const trimmed = offered.trim()
      if (trimmed.startsWith(BEARER_PROTOCOL_PREFIX)) return trimmed.slice(BEARER_PROTOCOL_PREFIX.length)
    }
  }
  const authorization = request.headers.authorization
  if (typeof authorization === 'string' && authorization.slice(0, 7).toLowerCase() === 'bearer ') {
    return authorization.slice(7).trim()
  }
  return undefined
}

/** The seed's token-in-path leaks into logs through the URL: replace it. */
export function redactUrl (url: string, path: string): string {
  const start = url.indexOf(path + '/')
  if (start === -1) return url
  const tokenStart = start + path.length + 1
  const queryStart = url.indexOf('?', tokenStart)
  return url.slice(0, tokenStart) + '[REDACTED]' + (queryStart === -1 ? '' : url.slice(queryStart))
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
}

/**
 * Runs before the upgrade, so every refusal is a real HTTP response with a
 * JSON body, and nothing is allocated for a refused connection.
 */
export function createHandshakeHook (deps: HandshakeDeps) {
  const { options, node, adapter, identities } = deps

  // A callback hook with a synchronous path: with no authenticate hook and
  // no cluster slot to claim, a handshake costs no promise, timer or microtask.
  return function realtimeHandshake (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    const verified = verifyToken(request)
    if (verified instanceof Error) return refuse(request, reply, verified)
    if (options.authenticate === undefined && !claimsSlot(request)) {
      const outcome = admit(verified.payload, verified.userId, undefined)
      if (outcome instanceof Error) return refuse(request, reply, outcome)
      identities.set(request, outcome)
      return done()
    }
    withinDeadline(slowChecks(request, verified), options.handshakeTimeoutMs, (late) => releaseSlot(adapter, late, request))
      .then((outcome) => {
        if (outcome === TIMED_OUT) return refuse(request, reply, new HandshakeTimeoutError())
        if (outcome instanceof Error) return refuse(request, reply, outcome)
        accepted(request, outcome)
        done()
      }, done)
  }

  function refuse (request: FastifyRequest, reply: FastifyReply, refusal: HandshakeError): void {
    node.counters.connectionsRejected++
    request.log.debug({ statusCode: refusal.statusCode, code: refusal.code }, 'websocket handshake refused')
    const statusCode = refusal.statusCode ?? 401
    reply.code(statusCode).send({ statusCode, code: refusal.code, error: errorName(statusCode), message: refusal.message })
  }

  function accepted (request: FastifyRequest, identity: Identity): void {
    identities.set(request, identity)
    if (identity.connectionId === undefined) return
    // a client that goes away between these checks and the upgrade must not keep its cluster slot
    const onAbandon = (): void => {
      if (identities.get(request) !== identity) return
      identities.delete(request)
      releaseSlot(adapter, identity, request)
    }
    identity.stopWatching = () => request.raw.socket?.removeListener('close', onAbandon)
    request.raw.socket?.once('close', onAbandon)
  }

  /** A plain GET (the preflight) only asks whether it would be accepted: it claims no slot. */
  function claimsSlot (request: FastifyRequest): boolean {
    return adapter.acquireConnection !== undefined && (request as FastifyRequest & { ws?: boolean }).ws === true
  }

  /** The cheap checks first (origin, capacity, load), then the token. */
  function verifyToken (request: FastifyRequest): HandshakeError | { payload: Record<string, unknown>, userId: string } {
    if (options.allowedOrigins !== undefined && !options.allowedOrigins(request.headers.origin, request)) {
      return new ForbiddenOriginError()
    }
    if (node.isClosing || node.registry.size >= options.maxConnections) return new ServerFullError()
    if (options.maxEventLoopDelayMs > 0 && node.eventLoopDelayMs() > options.maxEventLoopDelayMs) return new ServerOverloadedError()

    const token = extractToken(request)
    if (token === undefined || token.length === 0) return new UnauthorizedError('Missing token')
    let payload: Record<string, unknown>
    try {
      const verified = deps.verifier().verify(token)
      if (verified === null || typeof verified !== 'object') return new UnauthorizedError('Invalid token')
      payload = verified as Record<string, unknown>
    } catch (err) {
      // fast-jwt's messages describe the failure, never the token
      return new UnauthorizedError(`Authentication failed: ${(err as Error).message}`)
    }
    const sub = payload.sub
    const userId = typeof sub === 'string' ? sub : (typeof sub === 'number' ? String(sub) : '')
    if (userId.length === 0) return new UnauthorizedError('Invalid token: missing user ID')
    return { payload, userId }
  }

  /** The limits, checked again after any await: other handshakes may have been admitted meanwhile. */
  function admit (payload: Record<string, unknown>, userId: string, user: RealtimeUser): HandshakeError | Identity {
    if (node.registry.size >= options.maxConnections) return new ServerFullError()
    if (node.registry.countForUser(userId) >= options.maxConnectionsPerUser) {
      return new UserConnectionLimitError(options.maxConnectionsPerUser)
    }
    const exp = payload.exp
    return { userId, user, expiresAt: typeof exp === 'number' ? exp * 1000 : Infinity }
  }

  /** The host's authenticate hook and the cluster-wide slot: bounded by handshakeTimeoutMs. */
  async function slowChecks (request: FastifyRequest, verified: { payload: Record<string, unknown>, userId: string }): Promise<HandshakeError | Identity> {
    let userId = verified.userId
    let user: RealtimeUser
    if (options.authenticate !== undefined) {
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
    return identity
  }
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
  onLateIdentity: (identity: Identity) => void
): Promise<HandshakeError | Identity | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined
  let isLate = false
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => { isLate = true; resolve(TIMED_OUT) }, timeoutMs)
  })
  pending.then((outcome) => {
    if (isLate && !(outcome instanceof Error)) onLateIdentity(outcome)
  }, () => {})
  try {
    return await Promise.race([pending, deadline])
  } finally {
    clearTimeout(timer)
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
