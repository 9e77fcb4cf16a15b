// The job the hand-rolled baselines (raw ws, @fastify/websocket) do by hand:
// connection.established, ping -> pong, subscribe -> subscription.confirmed,
// and a broadcast that builds the envelope once, serializes it once and loops
// over the subscribers of the event (Map event -> Set of sockets).
import { randomUUID } from 'node:crypto'

export function envelope (type, data) {
  return { type, data, timestamp: new Date().toISOString(), id: randomUUID() }
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
        const events = Array.isArray(msg.data?.events) ? msg.data.events.filter((e) => typeof e === 'string') : []
        for (const e of events) {
          subs.add(e)
          let set = subscribers.get(e)
          if (set === undefined) subscribers.set(e, (set = new Set()))
          set.add(socket)
        }
        socket.send(JSON.stringify(envelope('subscription.confirmed', { events, subscriptions: [...subs] })))
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

  return { attach, broadcast, stats: () => ({ connections }) }
}
