import path from 'node:path'
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import fastifyJwt from '@fastify/jwt'
import fastifyStatic from '@fastify/static'
import { Type, type Static } from '@sinclair/typebox'
import realtime, {
  defineMessage, NotificationLevelSchema, UploadCancelDataSchema, type MetricsRegistry, type RealtimeOptions
} from 'fastify-realtime'
import { SimulatedUploads } from './uploads.js'
import { ReviewStore } from './reviews.js'
import { EXAMPLE_HISTORY, exampleChannels } from './channels.js'
import { reviewRoutes, reviewChannel } from './review-routes.js'
import { channelRoutes } from './channel-routes.js'
import { UserIdSchema, callerOf, Delivered } from './http.js'
import { examplePresence, presenceRoutes, UserDirectory } from './presence.js'

export interface BuildOptions {
  jwtSecret: string
  realtime?: RealtimeOptions
  logger?: FastifyServerOptions['logger']
  /** Time between two 10 % steps of a simulated upload. */
  uploadStepMs?: number
  /** Reviews the in-memory store keeps (the oldest is forgotten past it). */
  maxReviews?: number
  /** The prom-client registry for the plugin's metrics (server.ts adds Node's default metrics to it); the plugin's own by default. */
  metricsRegistry?: MetricsRegistry
}

const TokenBody = Type.Object({ userId: UserIdSchema }, { additionalProperties: false })
const NotificationBody = Type.Object({
  message: Type.String({ minLength: 1, maxLength: 2000 }),
  level: Type.Optional(NotificationLevelSchema),
  targetUsers: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 1000 }))
}, { additionalProperties: false })
const FileParams = Type.Object({ fileId: Type.String({ minLength: 1, maxLength: 128 }) })
const FileBody = Type.Object({
  userId: Type.String({ minLength: 1 }),
  status: Type.String({ minLength: 1, maxLength: 64 }),
  progress: Type.Optional(Type.Number({ minimum: 0, maximum: 100 }))
}, { additionalProperties: false })
const UploadBody = Type.Object({ totalBytes: Type.Integer({ minimum: 1, maximum: 1e12 }) }, { additionalProperties: false })

// run from source (tests) or compiled into examples/dist (npm start)
const exampleRoot = path.basename(__dirname) === 'dist' ? path.dirname(__dirname) : __dirname
const repoRoot = path.dirname(exampleRoot)

/** The demo host app: the plugin under /api/v1, a few routes that deliver, and the demo page. */
export async function buildApp (options: BuildOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false })
  const uploads = new SimulatedUploads(options.uploadStepMs ?? 300)
  const reviews = new ReviewStore({
    ...(options.maxReviews === undefined ? {} : { maxReviews: options.maxReviews }),
    // a forgotten review's channel would go on carrying whatever is posted to its id: empty it
    onForget: (review) => {
      for (const userId of review.members) app.realtime.leave({ userId }, reviewChannel(review.id), 'deleted').catch(() => {})
    }
  })
  const directory = new UserDirectory()

  // The host owns JWT: the plugin uses this registration (and its pinned algorithm)
  await app.register(fastifyJwt, { secret: options.jwtSecret, verify: { algorithms: ['HS256'] }, sign: { algorithm: 'HS256', expiresIn: '1h' } })

  await app.register(realtime, {
    metrics: options.metricsRegistry === undefined ? true : { registry: options.metricsRegistry },
    asyncapi: { title: 'fastify-realtime example app', description: 'The example host app of fastify-realtime (examples/app.ts): the protocol\'s own messages, its upload.cancel message and its review, upload and lobby namespaces.' },
    // each user's inbox (notifications, file statuses, targeted review changes) is recovered after a reconnect too
    inbox: EXAMPLE_HISTORY,
    ...options.realtime,
    prefix: '/api/v1',
    channels: exampleChannels(reviews, uploads),
    presence: examplePresence(typeof options.realtime?.presence === 'object' ? options.realtime.presence : {}),
    messages: {
      'upload.cancel': defineMessage({
        schema: UploadCancelDataSchema,
        handler (data, context) {
          if (!uploads.cancel(data.upload_id, context.connection.userId)) {
            context.reply('error', { code: 'UPLOAD_NOT_FOUND', message: 'No such upload of yours is running' })
          }
        }
      })
    }
  })
  uploads.attach(app.realtime)
  app.addHook('onClose', async () => uploads.stopAll())

  await app.register(fastifyStatic, { root: path.join(exampleRoot, 'public'), prefix: '/' })
  await app.register(fastifyStatic, { root: path.join(repoRoot, 'dist', 'browser'), prefix: '/assets/', decorateReply: false })

  await app.register(async (api) => {
    const authenticated = async (request: FastifyRequest): Promise<void> => {
      await request.jwtVerify()
    }

    // for a load balancer's check, so no token: 200 while ok or degraded (local delivery works), 503 when failing
    api.get('/realtime/health', async (_request, reply) => {
      const health = app.realtime.health()
      reply.code(health.status === 'failing' ? 503 : 200)
      return health
    })

    api.post<{ Body: Static<typeof TokenBody> }>('/auth/token', {
      schema: { body: TokenBody, response: { 200: Type.Object({ token: Type.String() }) } }
    }, async (request) => {
      directory.add(request.body.userId)
      return { token: app.jwt.sign({ sub: request.body.userId }) }
    })

    // the protocol reference (AsyncAPI 3.0), public like any API description; docs/protocol.md is generated from it
    api.get('/realtime/asyncapi.json', async () => app.realtime.asyncapi())

    api.register(async (secured) => {
      secured.addHook('onRequest', authenticated)

      secured.post<{ Body: Static<typeof NotificationBody> }>('/notifications', {
        schema: { body: NotificationBody, response: { 200: Delivered } }
      }, async (request) => {
        const { message, level, targetUsers } = request.body
        const notification = level === undefined ? {} : { level }
        return { delivered: await app.realtime.broadcastSystemNotification(message, targetUsers === undefined ? notification : { ...notification, targetUsers }) }
      })

      reviewRoutes(secured, reviews)
      channelRoutes(secured)

      secured.post<{ Params: Static<typeof FileParams>, Body: Static<typeof FileBody> }>('/files/:fileId/status', {
        schema: { params: FileParams, body: FileBody, response: { 200: Delivered } }
      }, async (request) => {
        const { userId, status, progress } = request.body
        return { delivered: await app.realtime.broadcastFileProcessingStatus(userId, request.params.fileId, status, progress) }
      })

      secured.post<{ Body: Static<typeof UploadBody> }>('/uploads', {
        schema: { body: UploadBody, response: { 202: Type.Object({ upload_id: Type.String() }) } }
      }, async (request, reply) => {
        reply.code(202)
        return { upload_id: uploads.start(callerOf(request), request.body.totalBytes) }
      })

      secured.get('/realtime/stats', async () => app.realtime.stats())
      presenceRoutes(secured, app, directory)
    })
  }, { prefix: '/api/v1' })

  return app
}
