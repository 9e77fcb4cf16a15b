/**
 * One sentence per protocol message type for the reference. A type without
 * one here is still documented (from its schema, whose own `description`
 * wins when it has one); adding a sentence is optional.
 */
export const MESSAGE_SUMMARIES: Readonly<Record<string, string>> = {
  // client -> server
  ping: 'Asks for a pong; `pingId` is echoed back.',
  heartbeat: 'A sign of life, acknowledged (any message counts as one; the server also pings idle sockets).',
  subscribe: 'Subscribes to events, channels (`namespace:id`) or both: all or nothing, at least one list.',
  unsubscribe: 'Unsubscribes from events and channels; what is not subscribed is simply not there to remove.',
  // server -> client
  'connection.established': 'Always the first message on a connection: who the server says you are and its heartbeat timing.',
  pong: 'The answer to ping.',
  'heartbeat.ack': 'The answer to heartbeat.',
  'subscription.confirmed': 'The answer to a subscribe that succeeded.',
  'unsubscription.confirmed': 'The answer to an unsubscribe.',
  'subscription.joined': 'The server put this connection in a channel (app.realtime.join).',
  'subscription.ended': 'The server took this connection out of a channel (app.realtime.leave); `reason` is `revoked` for a revocation.',
  error: 'A request failed or was refused; the connection stays open. `code` is one of the wire error codes.',
  'upload.progress': 'Progress of an upload.',
  'upload.completed': 'An upload finished.',
  'upload.error': 'An upload failed.',
  'upload.cancelled': 'An upload was cancelled.',
  'review.updated': 'A review changed (broadcastReviewUpdated); with a `review` namespace also to review:<id>.',
  'review.created': 'A review was created.',
  'review.deleted': 'A review was deleted.',
  'system.notification': 'A notification for users (broadcastSystemNotification).',
  'system.maintenance': 'Maintenance is coming.',
  'user.status_changed': 'A user\'s status changed.',
  'file.processing': 'A file is being processed (broadcastFileProcessingStatus).',
  'file.ready': 'A file reached another status than processing (broadcastFileProcessingStatus).'
}

/**
 * What the server answers each protocol client message with, besides
 * `error` (which any message may get: invalid data, rate limited).
 */
export const PROTOCOL_REPLIES: Readonly<Record<string, readonly string[]>> = {
  ping: ['pong'],
  heartbeat: ['heartbeat.ack'],
  subscribe: ['subscription.confirmed'],
  unsubscribe: ['unsubscription.confirmed']
}
