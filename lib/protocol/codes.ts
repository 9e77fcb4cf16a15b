/**
 * Wire error codes (the `code` of an `error` message). They are API: a
 * rename is a breaking change.
 */
export const WireError = {
  invalidJson: 'INVALID_JSON',
  invalidMessage: 'INVALID_MESSAGE',
  invalidMessageType: 'INVALID_MESSAGE_TYPE',
  invalidEvent: 'INVALID_EVENT',
  rateLimited: 'RATE_LIMIT_EXCEEDED',
  handlerError: 'HANDLER_ERROR',
  /** A channel name is malformed (`namespace:id`) or its namespace is not declared; `details` names them. */
  invalidChannel: 'INVALID_CHANNEL',
  /** A namespace's authorize refused (or timed out, or threw); `details` names the channels, `reasons` says why. */
  channelForbidden: 'CHANNEL_FORBIDDEN',
  /** The subscribe would take the connection past maxSubscriptionsPerConnection (events + channels). */
  tooManySubscriptions: 'TOO_MANY_SUBSCRIPTIONS',
  /** presence {channel} for a channel of a namespace without presence. */
  presenceDisabled: 'PRESENCE_DISABLED',
  /** presence {channel} for a channel the connection is not in. */
  notSubscribed: 'NOT_SUBSCRIBED'
} as const
export type WireErrorCode = typeof WireError[keyof typeof WireError]

/**
 * Close codes. 4000-4499: the client may reconnect (after renewing its token
 * for 4001); 4500-4999: it must not reconnect without a user action. Each is
 * sent by the plugin, by ws on its behalf (a bad frame), or only by a host
 * through `disconnectUser` (said on each such code).
 */
export const CloseCode = {
  /** Only when a host calls disconnectUser with it. */
  normal: 1000,
  goingAway: 1001,
  /** Sent by ws: broken framing. */
  protocolError: 1002,
  unsupportedData: 1003,
  /** Sent by ws: a text frame that is not UTF-8. */
  invalidPayload: 1007,
  policyViolation: 1008,
  /** Sent by ws: a frame over maxMessageSize. */
  tooBig: 1009,
  internalError: 1011,
  /** Only when a host calls disconnectUser with it. */
  serviceRestart: 1012,
  /** Only when a host calls disconnectUser with it. */
  tryAgainLater: 1013,
  heartbeatTimeout: 4000,
  tokenExpired: 4001,
  slowConsumer: 4008,
  /** Kept sending far past the rate limit (more than rateLimit.max x rateLimit.floodFactor refused messages in a window). */
  rateLimitFlood: 4009,
  connectionLimit: 4029,
  disconnectedByServer: 4500,
  /** Reserved for hosts (disconnectUser): never sent by the plugin itself. */
  forbidden: 4503
} as const
export type CloseCodeValue = typeof CloseCode[keyof typeof CloseCode]

/** Whether a client should reconnect after the server closed with `code`. */
export function isReconnectable (code: number): boolean {
  if (code >= 4500 && code <= 4999) return false
  return code !== CloseCode.policyViolation
}
