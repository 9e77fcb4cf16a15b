import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { fastifyRealtime } from '../plugin.js'
import type { RealtimeOptions } from '../options.js'
import type { RealtimeClock } from '../clock.js'
import type { Adapter } from '../adapters/adapter.js'
import { redisAdapter, type RedisAdapterOptions } from '../adapters/redis.js'
import { InProcessBus, type InProcessBusOptions } from './in-process-bus.js'
import { connect } from './connect.js'
import type { ConnectOptions, RealtimeTestClient, TestIdentity } from './types.js'
import { TestSetupError } from './errors.js'

/** What `build` gets to make one node. */
export interface ClusterNodeContext {
  /** 0 .. n-1 */
  index: number
  /** Give it to the plugin as `adapter`. */
  adapter: Adapter
  /** An HS256 secret the kit signs `{ userId }` tokens with: give it to the plugin as `jwt`. */
  secret: string
}

export interface ClusterOptions {
  /** The plugin's options on every node (the kit adds `adapter`); `jwt` defaults to a random secret the kit signs with. */
  realtime?: Omit<RealtimeOptions, 'adapter'>
  /** One clock for every node the kit builds (`manualClock()`); wins over `realtime.clock`. */
  clock?: RealtimeClock
  /** Fastify's options for the nodes the kit builds (a logger...). */
  fastify?: FastifyServerOptions
  /**
   * Build each node yourself (your own app, with the plugin registered with
   * `context.adapter`); the kit then only listens. `realtime` and `fastify` are not used.
   */
  build?: (context: ClusterNodeContext) => FastifyInstance | Promise<FastifyInstance>
  /** Redis instead of the in-process bus: a URL, or redisAdapter options. A random keyPrefix unless given. */
  redis?: string | RedisAdapterOptions
  /** Options of the in-process bus (when no `redis`). */
  bus?: InProcessBusOptions
  /** Defaults of every cluster.connect() (path, sign, timeoutMs...). */
  connect?: ConnectOptions
}

/** n nodes of one realtime server, in this process. */
export interface TestCluster {
  /** The nodes, each listening on 127.0.0.1 and its own port. */
  readonly nodes: readonly FastifyInstance[]
  /** The in-process bus (undefined on Redis). */
  readonly bus: InProcessBus | undefined
  /** The Redis key prefix of this cluster (undefined on the in-process bus). */
  readonly keyPrefix: string | undefined
  /** Connects a test client to node `index` (see connect()). */
  connect (index: number, who: TestIdentity, options?: ConnectOptions): Promise<RealtimeTestClient>
  /** Closes every node (their clients with them). */
  close (): Promise<void>
}

/**
 * Starts `n` nodes sharing one cluster transport: an in-process bus by
 * default, or Redis when `options.redis` is given (each cluster on its own
 * random key prefix, so parallel tests never meet). Close it in teardown.
 */
export async function cluster (n: number, options: ClusterOptions = {}): Promise<TestCluster> {
  if (!Number.isInteger(n) || n < 1) throw new TestSetupError(`cluster(n) needs a whole number of nodes >= 1, got ${String(n)}`)
  const secret = secretOf(options.realtime?.jwt) ?? randomBytes(32).toString('base64url')
  const bus = options.redis === undefined ? new InProcessBus(options.bus) : undefined
  const redis = redisOptions(options.redis)
  const adapterFor = (): Adapter => bus?.adapter() ?? redisAdapter(redis)

  const nodes: FastifyInstance[] = []
  const close = async (): Promise<void> => { await Promise.all(nodes.map(node => node.close())) }
  try {
    for (let index = 0; index < n; index++) {
      const context: ClusterNodeContext = { index, adapter: adapterFor(), secret }
      const node = options.build === undefined ? await defaultNode(options, context) : await options.build(context)
      nodes.push(node)
      await node.listen({ port: 0, host: '127.0.0.1' })
    }
  } catch (err) {
    await close()
    throw err
  }
  const connectDefaults: ConnectOptions = { secret, ...options.connect }
  return {
    nodes,
    bus,
    keyPrefix: redis.keyPrefix,
    connect (index, who, connectOptions) {
      const node = nodes[index]
      if (node === undefined) return Promise.reject(new TestSetupError(`no node ${index} in a cluster of ${nodes.length}`))
      return connect(node, who, { ...connectDefaults, ...connectOptions })
    },
    close
  }
}

async function defaultNode (options: ClusterOptions, context: ClusterNodeContext): Promise<FastifyInstance> {
  const app = Fastify(options.fastify)
  await app.register(fastifyRealtime, { jwt: context.secret, ...options.realtime, ...(options.clock === undefined ? {} : { clock: options.clock }), adapter: context.adapter })
  return app
}

/** The HS256 secret of the plugin's jwt option, when it is one. */
function secretOf (jwt: RealtimeOptions['jwt']): string | undefined {
  if (typeof jwt === 'string') return jwt
  const secret = (jwt as { secret?: unknown } | undefined)?.secret
  return typeof secret === 'string' ? secret : undefined
}

function redisOptions (redis: ClusterOptions['redis']): RedisAdapterOptions & { keyPrefix?: string } {
  if (redis === undefined) return {}
  const given: RedisAdapterOptions = typeof redis === 'string' ? { url: redis } : redis
  return { ...given, keyPrefix: given.keyPrefix ?? `fastify-realtime-test-${randomBytes(6).toString('hex')}` }
}
