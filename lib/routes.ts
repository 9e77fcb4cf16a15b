import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import type { ResolvedOptions } from './options.js'
import type { RealtimeNode } from './realtime-node.js'
import type { Adapter } from './adapters/adapter.js'
import { createHandshakeHook, redactUrl, releaseSlot, requestIdentityStore, type JwtVerifier } from './handshake.js'
import { CloseCode } from './protocol/codes.js'
import { HandshakeRateLimitedError } from './errors.js'
import { closeFields } from './observability/labels.js'

/** The endpoint's two routes (`${path}` and `${path}/*`): handshake hooks, upgrade handler, preflight. */
export function registerRoutes (scope: FastifyInstance, options: ResolvedOptions, node: RealtimeNode, adapter: Adapter, verifier: () => JwtVerifier): void {
  const identities = requestIdentityStore(scope)
  const handshake = node.handshakes.wrap(createHandshakeHook({ options, node, adapter, verifier, identities }), (request) => identities.get(request)?.userId)
  const onRequest = [handshake]
  if (options.handshakeRateLimit !== false) {
    onRequest.unshift(scope.rateLimit({
      max: options.handshakeRateLimit.max,
      timeWindow: options.handshakeRateLimit.timeWindowMs,
      groupId: 'fastify-realtime-handshake',
      // @fastify/rate-limit's own error has no code: answer like every other refusal
      errorResponseBuilder: (request, context) => {
        const refusal = new HandshakeRateLimitedError(context.after)
        node.counters.connectionsRejected++
        node.handshakes.refused(request, refusal)
        request.log.debug({ statusCode: 429, code: refusal.code }, 'websocket handshake refused')
        return refusal
      }
    }) as unknown as typeof handshake)
  }

  const wsHandler = (socket: WebSocket, request: FastifyRequest): void => {
    const identity = identities.get(request)
    identities.delete(request)
    identity?.stopWatching?.()
    releaseUpgradeLeftovers(socket, request)
    /* c8 ignore next 4 */ // the route's onRequest hook always sets it; kept as a guard
    if (identity === undefined) {
      socket.close(CloseCode.internalError, 'handshake state missing')
      return
    }
    // the limits were checked before the upgrade; concurrent handshakes can still race past them
    if (node.registry.size >= options.maxConnections || node.registry.countForUser(identity.userId) >= options.maxConnectionsPerUser) {
      releaseSlot(adapter, identity, request)
      node.counters.countClose(CloseCode.connectionLimit)
      request.log.debug(closeFields(CloseCode.connectionLimit), 'closing connection: limit reached after the upgrade')
      socket.close(CloseCode.connectionLimit, 'connection limit reached')
      return
    }
    node.accept(socket, identity)
  }

  // A browser never sees the status of a refused upgrade: a plain GET on the
  // same URL runs the same checks and answers them, so a client can ask why.
  const preflight = async (): Promise<{ statusCode: number, message: string }> => ({
    statusCode: 426,
    message: 'Handshake accepted: open a WebSocket to this URL to connect'
  })
  const routeOptions = {
    method: 'GET' as const,
    onRequest,
    logSerializers: {
      req: (req: { method?: string, url?: string, ip?: string, socket?: { remotePort?: number } }) => ({
        method: req.method,
        url: redactUrl(req.url ?? '', scope.prefix + options.path),
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort
      })
    },
    handler: async (_request: FastifyRequest, reply: { code: (c: number) => unknown }) => {
      reply.code(426)
      return preflight()
    },
    wsHandler
  }
  scope.route({ ...routeOptions, url: options.path })
  scope.route({ ...routeOptions, url: `${options.path}/*` })
}

/**
 * @fastify/websocket keeps each upgrade's request, reply and ServerResponse
 * reachable from the socket for its whole life (about 2.7 KB a connection):
 * let them go.
 */
function releaseUpgradeLeftovers (socket: WebSocket, request: FastifyRequest): void {
  socket.removeAllListeners('error')
  const raw = request.raw.socket as (Socket & { _httpMessage?: { detachSocket?: (s: unknown) => void } }) | null
  const response = raw?._httpMessage
  if (response?.detachSocket !== undefined) response.detachSocket(raw)
}
