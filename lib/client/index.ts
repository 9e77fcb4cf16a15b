// The fastify-realtime client. Imports only types and the dependency-free
// codes and constants from ../protocol/: no TypeBox, no Node modules at runtime.
export { RealtimeClient } from './client.js'
export { SUBPROTOCOL } from '../protocol/constants.js'
export { resolveWebSocketUrl } from './client-options.js'
export type { WaitForOpenOptions } from './wait-for-open.js'
export { ConnectionState } from './types.js'
export type {
  ChannelMessage, ClientEventMap, ClientEvents, Clock, ConnectionClosed, ConnectionStateValue, RealtimeClientOptions,
  ReconnectScheduled, ServerEventName, StateChange, TokenProvider, WebSocketConstructor, WebSocketLike
} from './types.js'
export { ClientErrorCode, RealtimeClientError } from './errors.js'
export type { ClientErrorCodeValue, RealtimeClientErrorInit } from './errors.js'
export { backoffDelay, backoffCeiling, DEFAULT_BACKOFF } from './backoff.js'
export type { BackoffOptions } from './backoff.js'
export { preflight, classifyStatus, parseRetryAfter, toHttpUrl } from './preflight.js'
export type { FetchLike, FetchResponseLike, PreflightVerdict, PreflightRequest } from './preflight.js'
export type { Listener } from './emitter.js'
export type { SubscriptionRequest, SubscriptionLists } from './subscription-state.js'
export { INBOX_STREAM } from './stream-positions.js'
export type { GapReason, RecoveryFailureReason, StreamPosition } from './stream-positions.js'
export { INBOX_GAP_RECONNECT_INTERVAL_MS } from './recovery.js'
export type { StreamGap, StreamRecovered } from './recovery.js'
export { CloseCode, WireError, isReconnectable } from '../protocol/codes.js'
export type { CloseCodeValue, WireErrorCode } from '../protocol/codes.js'
export type {
  RealtimeEvents, RealtimeEventName, ServerEnvelope, ServerMessage, ConnectionEstablished, ErrorData,
  SubscriptionConfirmed, UnsubscriptionConfirmed, SubscriptionJoined, SubscriptionEnded, Pong, UploadProgress, UploadCompleted, UploadCancelled,
  UploadError, ReviewUpdated, SystemNotification, FileStatus, UserStatusChanged
} from '../protocol/server-messages.js'
export type { PresenceState, PresenceUser, PresenceJoined, PresenceLeft, PresenceRequestData } from '../protocol/presence-messages.js'
export type { ClientMessages, ClientMessageType } from '../protocol/client-messages.js'
