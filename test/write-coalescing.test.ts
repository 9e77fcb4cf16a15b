import t from 'tap'
import type { WebSocket } from 'ws'
import { startServer, type TestServer } from './helpers/server.js'
import { notification } from './helpers/messages.js'
import { isPongFor } from './helpers/client.js'
import { CloseCode } from '../lib/protocol/codes.js'
import { COALESCE_MAX_BYTES } from '../lib/write-coalescer.js'

// lib/write-coalescer.ts: what one run of the event loop writes to a socket
// leaves in one syscall. These tests count the server socket's TCP reads and
// its writes to the kernel (net.Socket#_write/_writev): every reply to one
// read goes out in one write, in order, and the first frame of a run is
// written at once (so a burst costs two writes: its first frame, then the rest).

interface RawSocket {
  writableCorked: number
  _write: (...args: unknown[]) => unknown
  _writev: (...args: unknown[]) => unknown
  on (event: 'data', listener: () => void): void
}

function serverSocket (server: TestServer): RawSocket {
  const [socket] = [...server.app.websocketServer.clients] as WebSocket[]
  if (socket === undefined) throw new Error('no server socket')
  return (socket as unknown as { _socket: RawSocket })._socket
}

/** Counts the socket's reads ('data' events) and its writes to the kernel. */
function countIo (raw: RawSocket): { reads: number, writes: number } {
  const counts = { reads: 0, writes: 0 }
  raw.on('data', () => { counts.reads++ })
  const write = raw._write
  const writev = raw._writev
  raw._write = function (this: unknown, ...args: unknown[]) {
    counts.writes++
    return write.apply(this, args)
  }
  raw._writev = function (this: unknown, ...args: unknown[]) {
    counts.writes++
    return writev.apply(this, args)
  }
  return counts
}

/** The client's own TCP socket, corked: what it sends until uncork() leaves in one segment. */
function clientRaw (ws: WebSocket): { cork: () => void, uncork: () => void } {
  return (ws as unknown as { _socket: { cork: () => void, uncork: () => void } })._socket
}

t.test('pongs answering pings that arrived in one read leave in two writes, in order', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('alice')
  const counts = countIo(serverSocket(server))
  const PINGS = 20
  const raw = clientRaw(client.ws)
  raw.cork()
  for (let i = 0; i < PINGS; i++) client.ws.send(JSON.stringify({ type: 'ping', data: { pingId: `p${i}` } }))
  raw.uncork()
  const pongs = []
  for (let i = 0; i < PINGS; i++) pongs.push(await client.nextWhere(isPongFor(`p${i}`), `pong p${i}`))
  t.same(client.received.map(m => m.type), [], 'nothing but the pongs, each answered once')
  t.equal(pongs.length, PINGS, 'every ping answered')
  t.ok(counts.reads >= 1, 'the pings were read')
  // the first pong of a read goes out at once, the others of that read together after it
  t.ok(counts.writes <= 2 * counts.reads, `at most two writes per read (${counts.writes} for ${counts.reads} read(s)), not one per pong`)
})

t.test('the first frame of a run is written at once; a second in the same run waits for the end of the run', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('alice')
  const raw = serverSocket(server)
  const counts = countIo(raw)
  await server.app.realtime.sendToUser('alice', notification('first'))
  // sendToUser resolves after its local send; nothing else ran in between
  t.equal(raw.writableCorked, 0, 'not corked after the first frame of the run')
  t.equal(counts.writes, 1, 'the first frame went to the kernel at once')
  // two sends in one synchronous run
  const second = server.app.realtime.sendToUser('alice', notification('second'))
  const third = server.app.realtime.sendToUser('alice', notification('third'))
  t.equal(raw.writableCorked, 1, 'corked from the second frame of the run')
  await Promise.all([second, third])
  // the flush is a process.nextTick, which runs once the microtasks are done: after an immediate it has run
  await new Promise(resolve => setImmediate(resolve))
  t.equal(raw.writableCorked, 0, 'uncorked before the loop went back to I/O')
  for (const message of ['first', 'second', 'third']) t.equal((await client.next('system.notification')).data.message, message, `${message}, in order`)
  t.equal(counts.writes, 2, 'the second and third frames left in one write')
})

t.test('a close in the same run as corked frames comes after them', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('alice')
  const sends = ['a', 'b', 'c'].map(message => server.app.realtime.sendToUser('alice', notification(message)))
  const disconnected = server.app.realtime.disconnectUser('alice', 'bye')
  await Promise.all(sends)
  t.equal(await disconnected, 1)
  for (const message of ['a', 'b', 'c']) t.equal((await client.next('system.notification')).data.message, message)
  const closed = await client.closed
  t.equal(closed.code, CloseCode.disconnectedByServer, 'then the close, with its code')
})

t.test('a broadcast to many sockets writes each once, with none corked', async (t) => {
  const server = await startServer(t)
  const clients = await Promise.all(['a', 'b', 'c', 'd'].map(user => server.connect(user)))
  const sockets = ([...server.app.websocketServer.clients] as WebSocket[]).map(socket => (socket as unknown as { _socket: RawSocket })._socket)
  const counts = sockets.map(countIo)
  const delivered = server.app.realtime.broadcastToAll(notification('everyone'))
  t.same(sockets.map(raw => raw.writableCorked), [0, 0, 0, 0], 'no socket corked by a broadcast')
  t.equal(await delivered, 4)
  for (const client of clients) t.equal((await client.next('system.notification')).data.message, 'everyone')
  t.same(counts.map(c => c.writes), [1, 1, 1, 1], 'one write per socket')
})

t.test('a burst past maxBufferedBytes to a client that reads arrives whole: corked bytes are not a slow reader', async (t) => {
  const server = await startServer(t, { realtime: { maxBufferedBytes: 4096 } })
  const client = await server.connect('alice')
  const pad = 'x'.repeat(1024)
  const sends = []
  for (let i = 0; i < 30; i++) sends.push(server.app.realtime.sendToUser('alice', notification(`${i}:${pad}`)))
  t.same(await Promise.all(sends), new Array(30).fill(1), 'every send delivered')
  for (let i = 0; i < 30; i++) t.equal((await client.next('system.notification')).data.message, `${i}:${pad}`)
  t.equal(server.app.realtime.stats().slowConsumerEvents, 0, 'no slow consumer')
})

t.test('sends awaited one after another are held back at most COALESCE_MAX_BYTES at a time', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('alice')
  const raw = serverSocket(server) as RawSocket & { writableLength: number }
  const pad = 'y'.repeat(1024)
  let held = 0
  for (let i = 0; i < 300; i++) {
    // a loop of settled promises never lets the nextTick flush run: one long run of the loop
    await server.app.realtime.sendToUser('alice', notification(`${i}:${pad}`))
    if (raw.writableCorked > 0) held = Math.max(held, raw.writableLength)
  }
  t.ok(held > 0, 'the loop was one run: later sends were corked')
  t.ok(held <= COALESCE_MAX_BYTES + 2 * 1024, `at most about COALESCE_MAX_BYTES corked (${held} bytes)`)
  for (let i = 0; i < 300; i++) t.equal((await client.next('system.notification')).data.message, `${i}:${pad}`)
})

t.test('a queued message counts its bytes, not its characters: non-ASCII text is queued as bytes', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('alice')
  const socket = ([...server.app.websocketServer.clients] as WebSocket[])[0]
  if (socket === undefined) throw new Error('no server socket')
  const text = '漢'.repeat(1000) // 1,000 characters, 3,000 bytes
  const first = server.app.realtime.sendToUser('alice', notification('first'))
  // the second send of the run is corked: what the socket counts is what waits
  const second = server.app.realtime.sendToUser('alice', notification(text))
  t.ok(socket.bufferedAmount >= 3000, `bufferedAmount ${socket.bufferedAmount} counts the 3,000 bytes`)
  await Promise.all([first, second])
  t.equal((await client.next('system.notification')).data.message, 'first')
  t.equal((await client.next('system.notification')).data.message, text, 'the text arrives whole')
})

t.test('a heartbeat ping and a close while frames are corked: the frames, then the close', async (t) => {
  const server = await startServer(t, { realtime: { slowConsumer: 'close' } })
  const client = await server.connect('alice')
  const socket = ([...server.app.websocketServer.clients] as WebSocket[])[0]
  if (socket === undefined) throw new Error('no server socket')
  const pinged = new Promise<void>(resolve => client.ws.once('ping', () => resolve()))
  const sends = ['a', 'b'].map(message => server.app.realtime.sendToUser('alice', notification(message)))
  socket.ping()
  const disconnected = server.app.realtime.disconnectUser('alice', 'bye')
  await Promise.all(sends)
  t.equal(await disconnected, 1)
  await pinged
  for (const message of ['a', 'b']) t.equal((await client.next('system.notification')).data.message, message)
  t.equal((await client.closed).code, CloseCode.disconnectedByServer)
})

t.test('a socket reset while corked: nothing throws, the others are served', async (t) => {
  const server = await startServer(t)
  const doomed = await server.connect('doomed')
  const other = await server.connect('other')
  const sockets = [...server.app.websocketServer.clients] as WebSocket[]
  const doomedSocket = sockets[0]
  if (doomedSocket === undefined) throw new Error('no server socket')
  const sends = ['x', 'y'].map(message => server.app.realtime.sendToUser('doomed', notification(message)))
  // the server's socket is destroyed between the cork and the flush
  doomedSocket.terminate()
  await Promise.all(sends)
  await doomed.closed
  t.equal(await server.app.realtime.sendToUser('other', notification('still here')), 1)
  t.equal((await other.next('system.notification')).data.message, 'still here')
})
