// Who subscribes to which channel in the channels scenario, computed the
// same way by the runner and by every load generator (no list to ship).
// Channel c (0 <= c < channels) has 1, 2 or 3 subscribers (c % 3 + 1),
// all different connections of the `connections` (>= 3) clients.

export const CHANNEL_NAMESPACE = 'room'
export const CHANNEL_MESSAGE_TYPE = 'room.message'

export function channelName (c) {
  return `${CHANNEL_NAMESPACE}:c${c}`
}

/** The connections (0-based indexes) subscribed to channel c. */
export function subscribersOf (c, connections) {
  const stride = Math.floor(connections / 3)
  const all = [c % connections, (c + stride) % connections, (c + 2 * stride) % connections]
  return all.slice(0, (c % 3) + 1)
}

/** Every connection's channels: index -> [channel index]. */
export function channelsByConnection ({ channels, connections }) {
  const byConnection = Array.from({ length: connections }, () => [])
  for (let c = 0; c < channels; c++) {
    for (const i of subscribersOf(c, connections)) byConnection[i].push(c)
  }
  return byConnection
}

/** Deliveries one publish to every channel makes. */
export function deliveriesPerPass ({ channels }) {
  let total = 0
  for (let c = 0; c < channels; c++) total += (c % 3) + 1
  return total
}
