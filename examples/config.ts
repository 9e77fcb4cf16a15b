import type { RealtimeOptions } from 'fastify-realtime'

/** What the example reads from its environment, checked before anything starts. */
export interface ExampleConfig {
  port: number
  host: string
  jwtSecret: string
  isDevelopmentSecret: boolean
  redisUrl: string | undefined
  /** GET /metrics listens here, apart from the public port. */
  metricsPort: number
  metricsHost: string
  realtime: RealtimeOptions
}

export const DEVELOPMENT_SECRET = 'fastify-realtime-development-secret-change-me'

type Env = Record<string, string | undefined>

function integer (env: Env, name: string): number | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  const value = Number(raw)
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got "${raw}"`)
  return value
}

function boolean (env: Env, name: string): boolean | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw new Error(`${name} must be true or false, got "${raw}"`)
}

/** Copies the defined entries only, so the plugin's defaults apply to the rest. */
function defined<T extends object> (values: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> }
}

/** The REALTIME_* variables, each the plugin option of the same name. */
export function realtimeOptionsFromEnv (env: Env): RealtimeOptions {
  const rateLimit = defined({ max: integer(env, 'REALTIME_RATE_LIMIT_MAX'), windowMs: integer(env, 'REALTIME_RATE_LIMIT_WINDOW_MS') })
  const handshakeMax = integer(env, 'REALTIME_HANDSHAKE_RATE_LIMIT_MAX')
  const handshakeWindow = integer(env, 'REALTIME_HANDSHAKE_RATE_LIMIT_WINDOW_MS')
  const origins = env.REALTIME_ALLOWED_ORIGINS
  const slowConsumer = env.REALTIME_SLOW_CONSUMER
  if (slowConsumer !== undefined && slowConsumer !== '' && slowConsumer !== 'close' && slowConsumer !== 'drop') {
    throw new Error(`REALTIME_SLOW_CONSUMER must be close or drop, got "${slowConsumer}"`)
  }
  const options: RealtimeOptions = defined({
    maxConnectionsPerUser: integer(env, 'REALTIME_MAX_CONNECTIONS_PER_USER'),
    maxConnections: integer(env, 'REALTIME_MAX_CONNECTIONS'),
    heartbeatIntervalMs: integer(env, 'REALTIME_HEARTBEAT_INTERVAL_MS'),
    connectionTimeoutMs: integer(env, 'REALTIME_CONNECTION_TIMEOUT_MS'),
    maxMessageSize: integer(env, 'REALTIME_MAX_MESSAGE_SIZE'),
    maxBufferedBytes: integer(env, 'REALTIME_MAX_BUFFERED_BYTES'),
    slowConsumer: slowConsumer === 'close' || slowConsumer === 'drop' ? slowConsumer : undefined,
    compression: boolean(env, 'REALTIME_COMPRESSION'),
    closeOnTokenExpiry: boolean(env, 'REALTIME_CLOSE_ON_TOKEN_EXPIRY'),
    clockToleranceMs: integer(env, 'REALTIME_CLOCK_TOLERANCE_MS'),
    handshakeTimeoutMs: integer(env, 'REALTIME_HANDSHAKE_TIMEOUT_MS'),
    maxEventLoopDelayMs: integer(env, 'REALTIME_MAX_EVENT_LOOP_DELAY_MS'),
    allowedOrigins: origins === undefined || origins.trim() === '' ? undefined : origins.split(',').map(origin => origin.trim()).filter(Boolean)
  })
  const presenceGraceMs = integer(env, 'REALTIME_PRESENCE_GRACE_MS')
  if (presenceGraceMs !== undefined) options.presence = { offlineGraceMs: presenceGraceMs }
  if (Object.keys(rateLimit).length > 0) options.rateLimit = rateLimit
  if (handshakeMax === 0) {
    options.handshakeRateLimit = false
  } else if (handshakeMax !== undefined || handshakeWindow !== undefined) {
    options.handshakeRateLimit = defined({ max: handshakeMax, windowMs: handshakeWindow })
  }
  return options
}

export function loadConfig (env: Env = process.env): ExampleConfig {
  const secret = env.JWT_SECRET
  return {
    port: integer(env, 'PORT') ?? 3000,
    host: env.HOST ?? '127.0.0.1',
    jwtSecret: secret === undefined || secret === '' ? DEVELOPMENT_SECRET : secret,
    isDevelopmentSecret: secret === undefined || secret === '',
    redisUrl: env.REDIS_URL === '' ? undefined : env.REDIS_URL,
    metricsPort: integer(env, 'METRICS_PORT') ?? 9464,
    metricsHost: env.METRICS_HOST ?? '127.0.0.1',
    realtime: realtimeOptionsFromEnv(env)
  }
}
