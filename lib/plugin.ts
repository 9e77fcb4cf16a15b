import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import fastifyWebsocket from '@fastify/websocket'
import fastifyJwt from '@fastify/jwt'
import { createVerifier } from 'fast-jwt'
import fastifyRateLimit from '@fastify/rate-limit'
import type { WebSocket, WebSocketServer } from 'ws'
import { resolveOptions, type RealtimeOptions, type ResolvedOptions } from './options.js'
import { RealtimeNode, CLOSE_GRACE_MS } from './realtime-node.js'
import { createRealtimeApi } from './create-api.js'
import { createHandshakeHook, redactUrl, releaseSlot, requestIdentityStore, SUBPROTOCOL, type JwtVerifier } from './handshake.js'
import { MemoryAdapter } from './adapters/memory.js'
import { CloseCode } from './protocol/codes.js'
import { HandshakeRateLimitedError, InvalidOptionsError } from './errors.js'
import type { RealtimeApi } from './api.js'
import type { Adapter } from './adapters/adapter.js'
import type { Socket } from 'node:net'

declare module 'fastify' {
  interface FastifyInstance {
    realtime: RealtimeApi
  }
}


const realtimePlugin: FastifyPluginAsync<RealtimeOptions> = async function fastifyRealtime (app, rawOptions) {
  const options = resolveOptions(rawOptions)
  const hasHostJwt = app.hasDecorator('jwt')
  if (!hasHostJwt && options.jwt === undefined) {
    throw new InvalidOptionsError('jwt is required (a secret or @fastify/jwt options) unless @fastify/jwt is registered before fastify-realtime')
  }
  const adapter: Adapter = options.adapter ?? new MemoryAdapter()
  const node = new RealtimeNode(options, adapter, app.log)
  const api = createRealtimeApi(node, adapter)
  node.api = api
  app.decorate('realtime', api)

  // Close every client with 1001 (going away) and give them a moment to answer
  // before cutting them off, so close() never waits on ws's 30 s close timer.
  const shutdown = async (server: WebSocketServer): Promise<void> => {
    node.close(CloseCode.goingAway, 'server shutting down')
    closeOtherClients(server)
    await waitForSockets(server, CLOSE_GRACE_MS)
  }
  if (!app.hasDecorator('websocketServer')) {
    await app.register(fastifyWebsocket, {
      options: {
        maxPayload: options.maxMessageSize,
        perMessageDeflate: options.compression,
        handleProtocols: selectProtocol
      },
      // @fastify/websocket's own preClose closes clients with no code (1005): going away is 1001
      preClose (done) {
        const server = this.websocketServer
        shutdown(server).then(() => server.close(() => done()), done)
      }
    })
  } else {
    app.log.debug('fastify-realtime: using the host\'s @fastify/websocket; its maxPayload applies to inbound frames')
    app.addHook('preClose', async () => { await shutdown(app.websocketServer) })
  }

  node.onForget = adapter.releaseConnection === undefined
    ? undefined
    : (connection) => {
        adapter.releaseConnection?.(connection.userId, connection.id).catch((err: unknown) => {
          app.log.warn({ err }, 'fastify-realtime: could not release a connection slot')
        })
      }

  app.addHook('onReady', async () => {
    await adapter.start({
      nodeId: node.nodeId,
      log: app.log,
      receive: (message) => node.receive(message),
      localConnectionCount: (userId) => node.registry.countForUser(userId),
      hasConnection: (connectionId) => node.registry.get(connectionId) !== undefined
    })
    node.start()
  })
  app.addHook('onClose', async () => {
    node.close(CloseCode.goingAway, 'server shutting down')
    await adapter.close()
  })

  const prefix = (rawOptions as { prefix?: string }).prefix ?? ''
  await app.register(async function realtimeRoutes (scope) {
    let verifier = (): JwtVerifier => scope.jwt
    if (!hasHostJwt) {
      const jwtOptions = withPinnedAlgorithms(options)
      await scope.register(fastifyJwt, jwtOptions)
      // @fastify/jwt merges its options on every verify() call; with a static key
      // one fast-jwt verifier built from the same options does the same check
      const direct = directVerifier(jwtOptions)
      if (direct !== undefined) verifier = () => direct
    }
    const hasHostRateLimit = scope.hasDecorator('rateLimit')
    if (options.handshakeRateLimit !== false && !hasHostRateLimit) {
      await scope.register(fastifyRateLimit, { global: false })
    }
    registerRoutes(scope, options, node, adapter, verifier)
  }, { prefix })
}

/** The server speaks one subprotocol; it never echoes the `bearer.<jwt>` one. */
function selectProtocol (protocols: Set<string>): string | false {
  return protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false
}

function withPinnedAlgorithms (options: ResolvedOptions): NonNullable<ResolvedOptions['jwt']> {
  const jwt = options.jwt as NonNullable<ResolvedOptions['jwt']>
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

/** A verifier for a static key (a secret, or the public half of a key pair); undefined for key functions. */
function directVerifier (jwt: NonNullable<ResolvedOptions['jwt']>): JwtVerifier | undefined {
  const secret = jwt.secret as unknown
  const key = typeof secret === 'string' || Buffer.isBuffer(secret)
    ? secret
    : (secret !== null && typeof secret === 'object' && 'public' in secret ? (secret as { public: unknown }).public : undefined)
  if (typeof key !== 'string' && !Buffer.isBuffer(key)) return undefined
  const verify = createVerifier({ ...(jwt.verify as Record<string, unknown>), key: key as string }) as (token: string) => unknown
  return { verify }
}

function registerRoutes (scope: FastifyInstance, options: ResolvedOptions, node: RealtimeNode, adapter: Adapter, verifier: () => JwtVerifier): void {
  const identities = requestIdentityStore(scope)
  const handshake = createHandshakeHook({ options, node, adapter, verifier, identities })
  const onRequest = [handshake]
  if (options.handshakeRateLimit !== false) {
    onRequest.unshift(scope.rateLimit({
      max: options.handshakeRateLimit.max,
      timeWindow: options.handshakeRateLimit.timeWindowMs,
      groupId: 'fastify-realtime-handshake',
      // @fastify/rate-limit's own error has no code: answer like every other refusal
      errorResponseBuilder: (_request, context) => new HandshakeRateLimitedError(context.after)
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

function closeOtherClients (server: WebSocketServer): void {
  for (const client of server.clients) {
    if (client.readyState === client.OPEN) client.close(CloseCode.goingAway, 'server shutting down')
  }
}

async function waitForSockets (server: WebSocketServer, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs
  while (server.clients.size > 0 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  for (const client of server.clients) client.terminate()
}

export const fastifyRealtime = fp(realtimePlugin, {
  fastify: '5.x',
  name: 'fastify-realtime'
})
