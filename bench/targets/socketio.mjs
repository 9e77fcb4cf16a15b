// Socket.IO 4, websocket transport only. The token comes in `auth`, checked
// in a middleware; rooms are the subscriptions (events and channels);
// broadcast = io.to(event).emit, publish = io.to(channel).emit.
// Every protocol message travels as the `message` event carrying the same
// envelope as the other targets.
import { createServer } from 'node:http'
import { randomUUID } from 'node:crypto'
import { Server } from 'socket.io'
import { createJwtVerifier } from '../lib/common.mjs'
import { envelope, namesOf } from '../lib/hand-rolled.mjs'
import { runTarget, HOST, portFromEnv } from '../lib/target.mjs'

const verify = createJwtVerifier()
const server = createServer()
const io = new Server(server, { transports: ['websocket'], serveClient: false })

io.use((socket, next) => {
  try {
    const claims = verify(socket.handshake.auth?.token ?? socket.handshake.query?.token)
    if (typeof claims.sub !== 'string') throw new Error('no sub')
    socket.data.userId = claims.sub
    next()
  } catch {
    next(new Error('Unauthorized'))
  }
})

io.on('connection', (socket) => {
  socket.emit('message', envelope('connection.established', {
    connection_id: randomUUID(),
    user_id: socket.data.userId,
    server_time: new Date().toISOString(),
    features: ['heartbeat', 'subscriptions', 'rate_limiting']
  }))
  socket.on('message', (msg) => {
    if (msg === null || typeof msg !== 'object') return
    if (msg.type === 'ping') {
      socket.emit('message', envelope('pong', { timestamp: new Date().toISOString(), pingId: msg.data?.pingId ?? null }))
    } else if (msg.type === 'subscribe') {
      // events and channels are both rooms (a channel name has a colon, an event never does)
      const events = namesOf(msg.data?.events)
      const channels = namesOf(msg.data?.channels)
      socket.join([...events, ...channels])
      socket.emit('message', envelope('subscription.confirmed', { events, channels, subscriptions: [...socket.rooms].filter((r) => r !== socket.id) }))
    }
  })
})

function broadcast (event, data) {
  io.to(event).emit('message', envelope(event, data))
  return io.sockets.adapter.rooms.get(event)?.size ?? 0
}

/** A room per channel: io.to(channel).emit, the envelope carrying the channel. */
function publish (channel, type, data) {
  io.to(channel).emit('message', envelope(type, data, channel))
  return io.sockets.adapter.rooms.get(channel)?.size ?? 0
}

server.listen(portFromEnv(), HOST, () => {
  runTarget('socketio', { port: server.address().port, broadcast, publish, stats: () => ({ connections: io.engine.clientsCount }) })
})
