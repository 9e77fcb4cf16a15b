import t from 'tap'
import { once } from 'node:events'
import type { WebSocket } from 'ws'
import { startServer, type TestServer } from './helpers/server.js'
import { frameText } from '../lib/frame.js'

// A broadcast is framed once and the finished frame written straight to each
// socket (lib/connection.ts, lib/frame.ts). That reads ws internals: the
// sender's `_state` (idle between sends) and the raw `_socket`. If a ws
// release renames or reshapes them, the plugin silently falls back to
// ws.send for every recipient: still correct, but the fast path is gone.
// These tests fail in that case, so a ws upgrade cannot lose it unnoticed.

/** ws's Sender state between sends (ws/lib/sender.js: DEFAULT). */
const SENDER_IDLE = 0

interface Internals {
  _sender?: { _state?: unknown }
  _socket?: { write?: unknown }
}

function serverSockets (server: TestServer): WebSocket[] {
  return [...server.app.websocketServer.clients] as WebSocket[]
}

t.test('an accepted server socket has the internals the fast path reads, in the expected shape', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('u1')
  const [socket] = serverSockets(server)
  if (socket === undefined) throw new Error('no server socket')
  const internals = socket as unknown as Internals
  t.equal(socket.readyState, 1, 'open')
  t.type(internals._sender, 'object', '_sender is an object')
  t.type(internals._sender?._state, 'number', '_sender._state is a number')
  t.equal(internals._sender?._state, SENDER_IDLE, 'idle after the welcome was sent')
  t.type(internals._socket?.write, 'function', '_socket.write is a function')

  // still idle between sends once a reply has gone out
  await client.request({ type: 'ping', data: { pingId: 'p' } }, 'pong')
  t.equal(internals._sender?._state, SENDER_IDLE, 'idle between sends')
})

t.test('a broadcast to N sockets is one pre-framed write per socket after the first, which ws frames', async (t) => {
  const N = 5
  const server = await startServer(t)
  const clients = []
  for (let i = 0; i < N; i++) clients.push(await server.connect(`user-${i}`))
  const sockets = serverSockets(server)
  t.equal(sockets.length, N)

  const writes: Buffer[][] = []
  const sends: number[] = []
  sockets.forEach((socket, i) => {
    writes[i] = []
    sends[i] = 0
    const raw = (socket as unknown as { _socket: { write: (chunk: Buffer, ...rest: unknown[]) => boolean } })._socket
    const write = raw.write.bind(raw)
    raw.write = (chunk: Buffer, ...rest: unknown[]) => {
      writes[i]?.push(Buffer.from(chunk))
      return write(chunk, ...rest)
    }
    const send = socket.send.bind(socket)
    socket.send = ((...args: Parameters<WebSocket['send']>) => {
      sends[i] = (sends[i] ?? 0) + 1
      send(...args)
    }) as WebSocket['send']
  })

  // the exact text each client receives, to rebuild the frame the server should have written
  const texts = clients.map(client => once(client.ws, 'message').then(([data]) => (data as Buffer).toString()))
  const notification = { type: 'system.notification', data: { message: 'to all', level: 'info', timestamp: new Date().toISOString() } } as const
  t.equal(await server.app.realtime.broadcastToAll(notification), N)
  const received = await Promise.all(texts)

  const expected = frameText(Buffer.from(received[0] ?? ''))
  t.ok(received.every(text => text === received[0]), 'every socket got the same bytes')
  // the first socket gets the message through ws (a message with one recipient is never copied into a shared frame)
  t.equal(sends.reduce((a, b) => a + b, 0), 1, 'ws.send was called for one socket only')
  for (let i = 0; i < N; i++) {
    if (sends[i] === 1) continue
    t.equal(sends[i], 0, `socket ${i}: ws.send (the slow path) was not called`)
    const frames = writes[i]?.filter(chunk => chunk.equals(expected)) ?? []
    t.equal(frames.length, 1, `socket ${i}: the whole frame (header + payload) went out in one write`)
  }
})

t.test('a message with one recipient goes through ws.send, never copied into a shared frame', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('alone')
  const [socket] = serverSockets(server)
  if (socket === undefined) throw new Error('no server socket')
  let sends = 0
  const send = socket.send.bind(socket)
  socket.send = ((...args: Parameters<WebSocket['send']>) => {
    sends++
    send(...args)
  }) as WebSocket['send']
  const text = once(client.ws, 'message').then(([data]) => JSON.parse((data as Buffer).toString()) as { data: { message: string } })
  t.equal(await server.app.realtime.broadcastToAll({ type: 'system.notification', data: { message: 'one', level: 'info', timestamp: new Date().toISOString() } }), 1)
  t.equal((await text).data.message, 'one')
  t.equal(sends, 1, 'one ws.send')
})
