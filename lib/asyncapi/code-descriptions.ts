import { CloseCode, WireError, isReconnectable } from '../protocol/codes.js'
import type { CloseCodeEntry, WireErrorEntry } from './types.js'

/**
 * What each close code and wire error code means, for the protocol
 * reference. Keyed by the names in protocol/codes.ts, so a code added there
 * without a line here fails the type check instead of going undocumented.
 */
const CLOSE_CODE_TEXT: { readonly [K in keyof typeof CloseCode]: { meaning: string, clientShould: string } } = {
  normal: { meaning: 'normal closure; the server sends it only when a host calls disconnectUser with it', clientShould: 'reconnect only if it still wants a connection' },
  goingAway: { meaning: 'the server is shutting down (app.close(), SIGTERM)', clientShould: 'reconnect with backoff' },
  protocolError: { meaning: 'broken framing (unmasked frame, reserved bits, bad fragmentation), sent by ws', clientShould: 'fix the client; may reconnect' },
  unsupportedData: { meaning: 'a binary frame was sent: the protocol is JSON text frames', clientShould: 'fix the client; may reconnect' },
  invalidPayload: { meaning: 'a text frame was not valid UTF-8, sent by ws', clientShould: 'fix the client; may reconnect' },
  policyViolation: { meaning: 'policy violation (the user id is too long for the welcome to fit maxMessageSize)', clientShould: 'not reconnect' },
  tooBig: { meaning: 'a frame over maxMessageSize, sent by ws', clientShould: 'fix the client; may reconnect' },
  internalError: { meaning: 'internal error (a write to the socket failed)', clientShould: 'reconnect with backoff' },
  serviceRestart: { meaning: 'the service is restarting; sent only when a host calls disconnectUser with it', clientShould: 'reconnect with backoff' },
  tryAgainLater: { meaning: 'the service is overloaded; sent only when a host calls disconnectUser with it', clientShould: 'reconnect with backoff' },
  heartbeatTimeout: { meaning: 'no sign of life (message or pong) for connectionTimeoutMs', clientShould: 'reconnect' },
  tokenExpired: { meaning: 'the token expired (closeOnTokenExpiry)', clientShould: 'get a fresh token, then reconnect' },
  slowConsumer: { meaning: 'slow consumer: more than maxBufferedBytes unread', clientShould: 'reconnect and resync' },
  rateLimitFlood: { meaning: 'kept sending past the rate limit: more than rateLimit.max x rateLimit.floodFactor refused messages within one window', clientShould: 'slow down, then reconnect with backoff' },
  connectionLimit: { meaning: 'connection limit reached by a concurrent handshake', clientShould: 'reconnect with backoff' },
  disconnectedByServer: { meaning: 'disconnected by the server (disconnectUser, a revocation)', clientShould: 'not reconnect without a user action' },
  forbidden: { meaning: 'forbidden; reserved for hosts (disconnectUser), never sent by the plugin itself', clientShould: 'not reconnect without a user action' }
}

const WIRE_ERROR_TEXT: { readonly [K in keyof typeof WireError]: string } = {
  invalidJson: 'the frame is not JSON, or not a JSON object',
  invalidMessage: 'no string `type`, or `data` fails the type\'s schema (the message says where)',
  invalidMessageType: 'no handler for that `type`',
  invalidEvent: 'subscribing to an event that is not in `events` (`details` lists them)',
  rateLimited: 'over `rateLimit`; `retry_after` is whole seconds until a message would be accepted. At most one a second per connection: refused messages in between are dropped unread, and answered once more (without `request_id`) on the next sweep tick',
  handlerError: 'a host handler threw, or its `context.reply()` could not be sent',
  invalidChannel: 'a channel that is not `namespace:id` of a declared namespace (`details` lists them)',
  channelForbidden: 'a namespace\'s `authorize` refused, threw or timed out (`details`: the channels, `reasons`: why, e.g. `forbidden`, `timeout`, `error`)',
  tooManySubscriptions: 'past `maxSubscriptionsPerConnection` (events + channels), or too many subscribe requests waiting behind an authorization',
  presenceDisabled: '`presence {channel}` for a namespace without `presence`, or while presence is off',
  notSubscribed: '`presence {channel}` for a channel this connection is not in'
}

/** Every close code, in code order, with whether a client may reconnect after it. */
export function closeCodeEntries (): CloseCodeEntry[] {
  return (Object.keys(CloseCode) as Array<keyof typeof CloseCode>)
    .map(name => ({ code: CloseCode[name], name, ...CLOSE_CODE_TEXT[name], isReconnectable: isReconnectable(CloseCode[name]) }))
    .sort((a, b) => a.code - b.code)
}

/** Every wire error code, in the order protocol/codes.ts lists them. */
export function wireErrorEntries (): WireErrorEntry[] {
  return (Object.keys(WireError) as Array<keyof typeof WireError>)
    .map(name => ({ code: WireError[name], name, when: WIRE_ERROR_TEXT[name] }))
}
