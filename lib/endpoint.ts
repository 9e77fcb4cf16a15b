import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import type { ResolvedOptions } from './options.js'
import type { RealtimeNode } from './realtime-node.js'
import type { Adapter } from './adapters/adapter.js'
import { createHandshakeHook, redactUrl, releaseSlot, requestIdentityStore, type JwtVerifier } from './handshake.js'
import { CloseCode } from './protocol/codes.js'
import { HandshakeRateLimitedError } from './errors.js'
import { FailedHandshakes } from './failed-handshakes.js'
import { closeFields } from './observability/labels.js'
import { inboxAskOf } from './history/handshake.js'
import { admissionRefusal } from './admission.js'

/** The endpoint's two routes (`${path}` and `${path}/*`): handshake hooks, upgrade handler, preflight. */
export function registerEndpoint (
  scope: FastifyInstance, options: ResolvedOptions, node: RealtimeNode, adapter: Adapter, verifier: () => JwtVerifier,
  /** With a host-registered @fastify/websocket: where accepted upgrades are noted, so their sockets close with 1001. */
  acceptedUpgrades?: WeakSet<IncomingMessage>
): void {
  const identities = requestIdentityStore(scope)
  const failures = options.failedHandshakeLimit === false ? undefined : new FailedHandshakes(options.failedHandshakeLimit)
  const handshake = node.handshakes.wrap(createHandshakeHook({ options, node, adapter, verifier, identities, failures }), (request) => identities.get(request)?.userId)
  const onRequest = [handshake]
  if (acceptedUpgrades !== undefined) {
    // runs only when the handshake hook accepted (it answers every refusal itself)
    onRequest.push(function noteAcceptedUpgrade (request, _reply, done) {
      if ((request as FastifyRequest & { ws?: boolean }).ws === true) acceptedUpgrades.add(request.raw)
      done()
    })
  }
  // opt-in: every attempt per address, before everything else
  if (options.handshakeRateLimit !== false) {
    onRequest.unshift(scope.rateLimit({
      max: options.handshakeRateLimit.max,
      timeWindow: options.handshakeRateLimit.windowMs,
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
      closeRefused(socket, CloseCode.internalError, 'handshake state missing')
      return
    }
    // app.close() began while the request was between the handshake and the upgrade
    if (node.isClosing) {
      releaseSlot(adapter, identity, request)
      socket.on('error', ignoreError)
      socket.close(CloseCode.goingAway, 'server shutting down')
      return
    }
    // the limits were checked before the upgrade; concurrent handshakes can still race past them
    if (admissionRefusal(node.registry, options, identity.userId) !== undefined) {
      releaseSlot(adapter, identity, request)
      node.counters.countClose(CloseCode.connectionLimit)
      request.log.debug(closeFields(CloseCode.connectionLimit), 'closing connection: limit reached after the upgrade')
      closeRefused(socket, CloseCode.connectionLimit, 'connection limit reached')
      return
    }
    const inbox = inboxAskOf(request)
    if (inbox !== undefined) identity.inbox = inbox
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
 * Closes a socket that the node never takes. Until the peer answers the
 * close frame, ws still reads from it, and a bad frame meanwhile is an
 * 'error' event: with no listener (releaseUpgradeLeftovers removed
 * @fastify/websocket's) it would be an uncaught exception.
 */
function closeRefused (socket: WebSocket, code: number, reason: string): void {
  socket.on('error', onRefusedSocketError)
  socket.close(code, reason)
}

/** One function for every refused socket: ws closes the socket itself after these; nothing to log but their kind. */
function onRefusedSocketError (): void {}

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

/* c8 ignore next */ // runs only if a frame arrives on a socket refused at shutdown
function ignoreError (): void {}
