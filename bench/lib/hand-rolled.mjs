// The job the hand-rolled baselines (raw ws, @fastify/websocket) do by hand:
// connection.established, ping -> pong, subscribe -> subscription.confirmed,
// and a broadcast that builds the envelope once, serializes it once and loops
// over the subscribers of the event (Map event -> Set of sockets). Channels
// (`subscribe {channels}`, publish) are the same loop over the channel's
// Set, with `channel` in the envelope; no authorization.
import { randomUUID } from 'node:crypto'

export function envelope (type, data, channel) {
  const message = { type, data, timestamp: new Date().toISOString(), id: randomUUID() }
  if (channel !== undefined) message.channel = channel
  return message
}

/** The string names of a subscribe's list (anything else is left out). */
export function namesOf (list) {
  return Array.isArray(list) ? list.filter((name) => typeof name === 'string') : []
}

export function createHub () {
  /** @type {Map<string, Set<import('ws').WebSocket>>} */
  const subscribers = new Map()
  let connections = 0

  function attach (socket, userId) {
    connections++
    const subs = new Set()
    socket.send(JSON.stringify(envelope('connection.established', {
      connection_id: randomUUID(),
      user_id: userId,
      server_time: new Date().toISOString(),
      features: ['heartbeat', 'subscriptions', 'rate_limiting']
    })))
    socket.on('message', (raw, isBinary) => {
      let msg
      try { msg = JSON.parse(isBinary ? raw : raw.toString()) } catch {
        socket.send(JSON.stringify(envelope('error', { code: 'INVALID_JSON', message: 'invalid JSON' })))
        return
      }
      if (msg === null || typeof msg !== 'object') return
      if (msg.type === 'ping') {
        socket.send(JSON.stringify(envelope('pong', { timestamp: new Date().toISOString(), pingId: msg.data?.pingId ?? null })))
      } else if (msg.type === 'subscribe') {
        // events and channels share the map: a channel name has a colon, an event never does
        const events = namesOf(msg.data?.events)
        const channels = namesOf(msg.data?.channels)
        for (const name of [...events, ...channels]) {
          subs.add(name)
          let set = subscribers.get(name)
          if (set === undefined) subscribers.set(name, (set = new Set()))
          set.add(socket)
        }
        socket.send(JSON.stringify(envelope('subscription.confirmed', { events, channels, subscriptions: [...subs] })))
      }
    })
    socket.on('close', () => {
      connections--
      for (const e of subs) subscribers.get(e)?.delete(socket)
    })
  }

  function broadcast (event, data) {
    const set = subscribers.get(event)
    if (set === undefined) return 0
    const frame = JSON.stringify(envelope(event, data))
    for (const socket of set) socket.send(frame)
    return set.size
  }

  function publish (channel, type, data) {
    const set = subscribers.get(channel)
    if (set === undefined) return 0
    const frame = JSON.stringify(envelope(type, data, channel))
    for (const socket of set) socket.send(frame)
    return set.size
  }

  return { attach, broadcast, publish, stats: () => ({ connections }) }
}
