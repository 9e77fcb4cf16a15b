import t from 'tap'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { startServer } from '../helpers/server.js'

// A socket refused after the upgrade (4029: concurrent handshakes raced past
// the per-user limit) is closed by the server, but ws keeps reading it until
// the peer answers the close. A bad frame meanwhile is an 'error' event on a
// socket whose listeners the upgrade cleanup removed: it must not be an
// uncaught exception.

interface RawUpgrade {
  socket: net.Socket
  /** Bytes received after the 101 response. */
  frames (): Buffer
  /** Resolves once the server's close frame arrived, with its code. */
  closeCode: Promise<number>
}

/** An unmasked text frame: clients must mask, so ws fails the connection (1002) with an 'error' event. */
const UNMASKED_FRAME = Buffer.from([0x81, 0x02, 0x68, 0x69])

/** Upgrades by hand and, as soon as the 101 arrives, writes a frame the server must refuse (never answering its close). */
function upgradeThenMisbehave (port: number, path: string): RawUpgrade {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  let head = Buffer.alloc(0)
  let body = Buffer.alloc(0)
  let isUpgraded = false
  let resolveClose: (code: number) => void = () => {}
  const closeCode = new Promise<number>((resolve) => { resolveClose = resolve })
  socket.on('data', (chunk: Buffer) => {
    if (!isUpgraded) {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      isUpgraded = true
      if (!head.subarray(0, 12).toString().includes('101')) throw new Error(`not upgraded: ${head.toString()}`)
      socket.write(UNMASKED_FRAME)
      chunk = head.subarray(end + 4)
    }
    body = Buffer.concat([body, chunk])
    const code = closeCodeIn(body)
    if (code !== undefined) resolveClose(code)
  })
  socket.write([
    `GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', ''
  ].join('\r\n'))
  return { socket, frames: () => body, closeCode }
}

/** The code of the first close frame in a run of small unmasked server frames. */
function closeCodeIn (bytes: Buffer): number | undefined {
  let at = 0
  while (at + 2 <= bytes.length) {
    const opcode = (bytes[at] as number) & 0x0f
    let length = (bytes[at + 1] as number) & 0x7f
    let start = at + 2
    if (length === 126) {
      if (at + 4 > bytes.length) return undefined
      length = bytes.readUInt16BE(at + 2)
      start = at + 4
    }
    if (start + length > bytes.length) return undefined
    if (opcode === 0x8) return length >= 2 ? bytes.readUInt16BE(start) : 1005
    at = start + length
  }
  return undefined
}

t.test('a bad frame on a socket refused with 4029 after the upgrade does not crash the server', async (t) => {
  let arrived = 0
  let releaseBoth: () => void = () => {}
  const bothArrived = new Promise<void>((resolve) => { releaseBoth = resolve })
  const server = await startServer(t, {
    realtime: {
      maxConnectionsPerUser: 1,
      // both handshakes pass the limit check before either connection exists
      async authenticate (payload) {
        if (payload.sub === 'racer' && ++arrived === 2) releaseBoth()
        if (payload.sub === 'racer') await bothArrived
        return true
      }
    }
  })
  const bystander = await server.connect('bystander')
  const path = `/ws/${server.token('racer')}`
  const racers = [upgradeThenMisbehave(server.port, path), upgradeThenMisbehave(server.port, path)]
  t.teardown(() => { for (const racer of racers) racer.socket.destroy() })

  const codes = await Promise.all(racers.map(racer => racer.closeCode))
  t.same([...codes].sort(), [1002, 4029], 'one refused by the limit (4029), one accepted and then failed for its bad frame (1002)')
  t.equal(server.app.realtime.stats().connections, 1, 'only the bystander is left')

  const pong = await bystander.request({ type: 'ping', data: { pingId: 'alive' } }, 'pong')
  t.equal(pong.data.pingId, 'alive', 'the process lives on and other connections keep working')
  const racer = await server.connect('racer')
  t.equal((await racer.request({ type: 'ping', data: { pingId: 'r' } }, 'pong')).data.pingId, 'r', 'the racer can connect again')
})
