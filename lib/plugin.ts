import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import fastifyWebsocket from '@fastify/websocket'
import fastifyJwt from '@fastify/jwt'
import fastifyRateLimit from '@fastify/rate-limit'
import type { WebSocketServer } from 'ws'
import { resolveOptions, type RealtimeOptions } from './options.js'
import { RealtimeNode, CLOSE_GRACE_MS } from './realtime-node.js'
import { createRealtimeApi } from './realtime-api.js'
import { SUBPROTOCOL } from './protocol/constants.js'
import { hostVerifier, ownVerifier, withPinnedAlgorithms, type JwtVerifier } from './jwt.js'
import { registerEndpoint } from './endpoint.js'
import { adoptHostServerSockets, closeOtherClients, waitForSockets, type HostServerSockets } from './shutdown.js'
import { MemoryAdapter } from './adapters/memory.js'
import { CloseCode } from './protocol/codes.js'
import { InvalidOptionsError } from './errors.js'
import type { RealtimeApi } from './realtime-api.js'
import type { Adapter } from './adapters/adapter.js'
import { createNodeMetrics, setUpObservability } from './observability/setup.js'
import type { RealtimeMetrics } from './observability/metrics.js'
import { createPresence } from './presence/create-presence.js'
import { asyncApiOnce } from './asyncapi/index.js'
import { checkHistoryEngine } from './history/handshake.js'

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
  checkHistoryEngine(options, adapter)
  let metrics: RealtimeMetrics | undefined
  let api: RealtimeApi | undefined
  const node = new RealtimeNode({
    options,
    adapter,
    log: app.log,
    // built from the node right below, before any connection can run a handler
    realtime: () => api as RealtimeApi,
    onForget: adapter.releaseConnection === undefined
      ? undefined
      : (connection) => {
          adapter.releaseConnection?.(connection.userId, connection.id).catch((err: unknown) => {
            app.log.warn({ err }, 'fastify-realtime: could not release a connection slot')
          })
        },
    metrics: (parts) => (metrics = createNodeMetrics(parts, adapter, options)),
    presence: (parts) => createPresence(options, adapter, parts, app.log)
  })
  const observability = setUpObservability(node, adapter, options, metrics)
  const presence = node.presence
  const prefix = (rawOptions as { prefix?: string }).prefix ?? ''
  // the routes' scope knows the full prefix (a parent's included): it sets this when it registers them
  let endpointPath = prefix + options.path
  const asyncapi = asyncApiOnce(() => ({ options, clientSchemas: node.router.schemas(), endpointPath }))
  api = createRealtimeApi(node, adapter, observability, asyncapi)
  app.decorate('realtime', api)

  // Close every client with 1001 (going away) and give them a moment to answer
  // before cutting them off, so close() never waits on ws's 30 s close timer.
  let hostSockets: HostServerSockets | undefined
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
        node.close(CloseCode.goingAway, 'server shutting down')
        closeOtherClients(server)
        waitForSockets(server.clients, CLOSE_GRACE_MS).then(() => server.close(() => done()), done)
      }
    })
  } else {
    app.log.debug('fastify-realtime: using the host\'s @fastify/websocket; its maxPayload applies to inbound frames')
    // the host's preClose runs first and decides for its own clients; the plugin's sockets still say 1001
    const adopted = adoptHostServerSockets(app.websocketServer)
    hostSockets = adopted
    app.addHook('preClose', async () => {
      node.close(CloseCode.goingAway, 'server shutting down')
      await waitForSockets(adopted.sockets, CLOSE_GRACE_MS)
    })
  }

  app.addHook('onReady', async () => {
    await adapter.start({
      nodeId: node.nodeId,
      log: app.log,
      receive: (message) => node.outbound.receive(message),
      localConnectionCount: (userId) => node.registry.countForUser(userId),
      hasConnection: (connectionId) => node.registry.get(connectionId) !== undefined,
      localChannelSubscribers: (channel) => node.channels.index.count(channel)
    })
    await presence?.backend.start()
    node.start()
  })
  app.addHook('onClose', async () => {
    node.close(CloseCode.goingAway, 'server shutting down')
    // the leaves of the connections just closed reach the backend before the adapter goes
    await presence?.close()
    await adapter.close()
    observability.close()
  })

  await app.register(async function realtimeRoutes (scope) {
    endpointPath = scope.prefix + options.path
    let verifier: JwtVerifier
    if (hasHostJwt) {
      verifier = hostVerifier(scope.jwt, options.clock)
    } else {
      const jwtOptions = withPinnedAlgorithms(options)
      await scope.register(fastifyJwt, jwtOptions)
      verifier = ownVerifier(jwtOptions, options.clock)
    }
    const hasHostRateLimit = scope.hasDecorator('rateLimit')
    if (options.handshakeRateLimit !== false && !hasHostRateLimit) {
      await scope.register(fastifyRateLimit, { global: false })
    }
    registerEndpoint(scope, options, node, adapter, () => verifier, hostSockets?.acceptedUpgrades)
  }, { prefix })
}

/** The server speaks one subprotocol; it never echoes the `bearer.<jwt>` one. */
function selectProtocol (protocols: Set<string>): string | false {
  return protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false
}

export const fastifyRealtime = fp(realtimePlugin, {
  fastify: '5.x',
  name: 'fastify-realtime'
})
