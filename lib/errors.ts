import createError from '@fastify/error'

/**
 * Every error this plugin throws, in one place. Codes are API: renaming one
 * is a breaking change and goes in the CHANGELOG.
 *
 * Errors on the wire (the `code` of an `error` frame) and close codes live in
 * protocol/codes.ts, because the client shares them.
 */

// Options, at register time
export const InvalidOptionsError = createError<'FST_REALTIME_OPTIONS_INVALID', [string]>(
  'FST_REALTIME_OPTIONS_INVALID', 'fastify-realtime: invalid options: %s')

// Delivery, from app.realtime.*
export const MessageTooLargeError = createError<'FST_REALTIME_MESSAGE_TOO_LARGE', [number, number]>(
  'FST_REALTIME_MESSAGE_TOO_LARGE', 'fastify-realtime: message is %d bytes, over maxMessageSize (%d): not sent')
export const InvalidOutboundMessageError = createError<'FST_REALTIME_MESSAGE_INVALID', [string]>(
  'FST_REALTIME_MESSAGE_INVALID', 'fastify-realtime: cannot send message: %s')
export const InvalidCloseCodeError = createError<'FST_REALTIME_CLOSE_CODE_INVALID', [string]>(
  'FST_REALTIME_CLOSE_CODE_INVALID', 'fastify-realtime: cannot close with code %s: use 4000-4999 (the application\'s range) or one of 1000, 1001, 1008, 1011, 1012, 1013')
export const InvalidChannelError = createError<'FST_REALTIME_CHANNEL_INVALID', [string]>(
  'FST_REALTIME_CHANNEL_INVALID', 'fastify-realtime: %s')
export const PublishFailedError = createError<'FST_REALTIME_PUBLISH_FAILED', [string]>(
  'FST_REALTIME_PUBLISH_FAILED', 'fastify-realtime: delivered locally but could not publish to other nodes: %s')

// Handshake, answered with an HTTP status before the upgrade
export const UnauthorizedError = createError<'FST_REALTIME_UNAUTHORIZED', [string]>(
  'FST_REALTIME_UNAUTHORIZED', '%s', 401)
export const ForbiddenOriginError = createError<'FST_REALTIME_FORBIDDEN_ORIGIN', []>(
  'FST_REALTIME_FORBIDDEN_ORIGIN', 'Origin not allowed', 403)
export const UserConnectionLimitError = createError<'FST_REALTIME_USER_CONNECTION_LIMIT', [number]>(
  'FST_REALTIME_USER_CONNECTION_LIMIT', 'Maximum connections per user exceeded (%d)', 429)
export const ServerFullError = createError<'FST_REALTIME_SERVER_FULL', []>(
  'FST_REALTIME_SERVER_FULL', 'Server at maximum capacity', 503)
export const HandshakeTimeoutError = createError<'FST_REALTIME_HANDSHAKE_TIMEOUT', []>(
  'FST_REALTIME_HANDSHAKE_TIMEOUT', 'Handshake took too long, try again later', 503)
export const ServerOverloadedError = createError<'FST_REALTIME_SERVER_OVERLOADED', []>(
  'FST_REALTIME_SERVER_OVERLOADED', 'Server is overloaded, try again later', 503)
export const HandshakeRateLimitedError = createError<'FST_REALTIME_HANDSHAKE_RATE_LIMITED', [string]>(
  'FST_REALTIME_HANDSHAKE_RATE_LIMITED', 'Too many connection attempts from this address, retry in %s', 429)

// Adapters, at startup
export const AdapterDependencyMissingError = createError<'FST_REALTIME_ADAPTER_DEPENDENCY_MISSING', [string, string]>(
  'FST_REALTIME_ADAPTER_DEPENDENCY_MISSING', 'fastify-realtime: %s needs the optional peer dependency %s: npm install it')
export const AdapterUnavailableError = createError<'FST_REALTIME_ADAPTER_UNAVAILABLE', [string]>(
  'FST_REALTIME_ADAPTER_UNAVAILABLE', 'fastify-realtime: the cluster adapter could not start: %s', 503)

// Shutdown: a handshake still in progress when app.close() began
export const ServerClosingError = createError<'FST_REALTIME_SERVER_CLOSING', []>(
  'FST_REALTIME_SERVER_CLOSING', 'Server is shutting down, try again later', 503)
// Observability, at register time
export const MetricsDependencyMissingError = createError<'FST_REALTIME_METRICS_DEPENDENCY_MISSING', []>(
  'FST_REALTIME_METRICS_DEPENDENCY_MISSING', 'fastify-realtime: metrics need the optional peer dependency prom-client@15: npm install it')
// Presence, from app.realtime.isOnline / onlineUsers / onlineCount / presenceOf
export const PresenceDisabledError = createError<'FST_REALTIME_PRESENCE_DISABLED', [string]>(
  'FST_REALTIME_PRESENCE_DISABLED', 'fastify-realtime: %s')
export const InvalidPresenceQueryError = createError<'FST_REALTIME_PRESENCE_QUERY_INVALID', [string]>(
  'FST_REALTIME_PRESENCE_QUERY_INVALID', 'fastify-realtime: invalid presence query: %s')
// Cluster adapters (Redis), from publishes, cluster counts and history while Redis is away
export const AdapterNotConnectedError = createError<'FST_REALTIME_ADAPTER_NOT_CONNECTED', [string]>(
  'FST_REALTIME_ADAPTER_NOT_CONNECTED', '%s', 503)
export const AdapterClosedError = createError<'FST_REALTIME_ADAPTER_CLOSED', [string]>(
  'FST_REALTIME_ADAPTER_CLOSED', '%s', 503)
export const ClusterCountTimeoutError = createError<'FST_REALTIME_CLUSTER_COUNT_TIMEOUT', [number]>(
  'FST_REALTIME_CLUSTER_COUNT_TIMEOUT', 'not every node answered within %d ms', 504)
export const AdapterProtocolError = createError<'FST_REALTIME_ADAPTER_PROTOCOL', [string]>(
  'FST_REALTIME_ADAPTER_PROTOCOL', 'fastify-realtime: unexpected answer from Redis: %s', 502)
