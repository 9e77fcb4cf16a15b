import t from 'tap'
import * as server from '../lib/index.js'
import * as client from '../lib/client/index.js'
import * as testing from '../lib/testing/index.js'

// The runtime names each entry point exports. An export added or dropped by
// accident (a re-export lost in a file split) fails here; a deliberate change
// updates the list, and goes in the CHANGELOG when it drops a name. Reading
// every export also runs each of the re-export getters the build emits.
const SERVER_EXPORTS = [
  'AdapterClosedError', 'AdapterDependencyMissingError', 'AdapterNotConnectedError', 'AdapterProtocolError', 'AdapterUnavailableError', 'CHANNEL_ID_PATTERN', 'ClientPositionSchema',
  'CloseCode', 'ClusterCountTimeoutError', 'ClusterHub', 'ClusterIpcAdapter', 'ClusterIpcAdapterDataOptionsSchema', 'ConnectionEstablishedSchema', 'DEFAULT_EVENTS', 'ErrorDataSchema', 'EventSchemas',
  'FileStatusSchema', 'ForbiddenOriginError', 'HandshakeRateLimitedError', 'HandshakeTimeoutError',
  'HeartbeatAckSchema', 'HeartbeatDataSchema', 'HistoryOptionsSchema', 'INBOX_QUERY_PARAMETER', 'INBOX_STREAM',
  'InvalidChannelError', 'InvalidCloseCodeError', 'InvalidOptionsError', 'InvalidOutboundMessageError',
  'InvalidPresenceQueryError', 'MAX_CHANNEL_LENGTH', 'MAX_HISTORY_SIZE', 'MAX_HISTORY_TTL_MS',
  'MAX_NAMES_PER_SUBSCRIBE', 'MAX_PRESENCE_USERS', 'MemoryAdapter', 'MemoryHistory', 'MemoryPresence',
  'MessageTooLargeError', 'MetricsDependencyMissingError', 'NAMESPACE_PATTERN', 'NotificationLevelSchema',
  'PingDataSchema', 'PongSchema', 'PresenceDataOptionsSchema', 'PresenceDisabledError', 'PresenceJoinedSchema',
  'PresenceLeftSchema', 'PresenceRequestDataSchema', 'PresenceSchemas', 'PresenceStateSchema', 'PresenceUserSchema',
  'PublishFailedError', 'RealtimeDataOptionsSchema', 'RecoveryFailureReasonSchema', 'RecoveryResultSchema',
  'RedisAdapter', 'RedisAdapterDataOptionsSchema', 'RedisHistory', 'ReplySchemas', 'ReviewCreatedSchema',
  'ReviewDeletedSchema', 'ReviewUpdatedSchema', 'SERVER_MESSAGE_SCHEMAS', 'SUBPROTOCOL', 'ServerClosingError',
  'ServerEnvelopeSchema', 'ServerFullError', 'ServerOverloadedError', 'StreamPositionSchema', 'StreamRecoverySchema',
  'SubscribeDataSchema', 'SubscribeListsSchema', 'SubscriptionConfirmedSchema', 'SubscriptionEndedSchema',
  'SubscriptionJoinedSchema', 'SystemMaintenanceSchema', 'SystemNotificationSchema', 'TRACING_CHANNELS',
  'UnauthorizedError', 'UnsubscribeDataSchema', 'UnsubscriptionConfirmedSchema', 'UploadCancelDataSchema',
  'UploadCancelledSchema', 'UploadCompletedSchema', 'UploadErrorSchema', 'UploadProgressSchema',
  'UserConnectionLimitError', 'UserStatusChangedSchema', 'WireError', 'channelStream', 'clusterIpcAdapter', 'clusterPrimary', 'default', 'defineMessage',
  'fastifyRealtime', 'formatInboxPosition', 'inboxStream', 'isReconnectable', 'memoryAdapter', 'parseInboxPosition',
  'redisAdapter', 'resolveOptions'
]

const CLIENT_EXPORTS = [
  'ClientErrorCode', 'CloseCode', 'ConnectionState', 'DEFAULT_BACKOFF', 'INBOX_GAP_RECONNECT_INTERVAL_MS',
  'INBOX_STREAM', 'RealtimeClient', 'RealtimeClientError', 'SUBPROTOCOL', 'WireError', 'backoffCeiling',
  'backoffDelay', 'classifyStatus', 'isReconnectable', 'parseRetryAfter', 'preflight', 'resolveWebSocketUrl',
  'toHttpUrl'
]

const TESTING_EXPORTS = [
  'HandshakeRefusedError', 'InProcessBus', 'ServerErrorReplyError', 'TestConnectionClosedError', 'TestSetupError',
  'TestTimeoutError', 'UnexpectedMessagesError', 'cluster', 'connect', 'expectRefused', 'manualClock'
]

const entries: Array<[string, Record<string, unknown>, string[]]> = [
  ['fastify-realtime', server, SERVER_EXPORTS],
  ['fastify-realtime/client', client, CLIENT_EXPORTS],
  ['fastify-realtime/testing', testing, TESTING_EXPORTS]
]

for (const [entry, module, expected] of entries) {
  t.test(`${entry} exports exactly its public names, each defined`, async (t) => {
    t.same(Object.keys(module).sort(), [...expected].sort(), 'added or dropped an export? update this list on purpose')
    for (const name of expected) t.not(module[name], undefined, `${entry} ${name}`)
  })
}

t.test('the default export of fastify-realtime is the plugin, also exported by name', async (t) => {
  t.equal(server.default, server.fastifyRealtime)
  t.type(server.fastifyRealtime, 'function')
})

t.test('the client and the server agree on the codes and the subprotocol they share', async (t) => {
  t.equal(client.SUBPROTOCOL, server.SUBPROTOCOL)
  t.equal(client.CloseCode, server.CloseCode, 'one table, not a copy')
  t.equal(client.WireError, server.WireError)
  t.equal(client.isReconnectable, server.isReconnectable)
  t.equal(client.INBOX_STREAM, server.INBOX_STREAM)
})
