// A scripted WebSocket server for client tests that need frames the real
// plugin never sends (a hole in the offsets, a malformed recovery.result).
// Not a test file.
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Teardown } from './support.js'

export interface FakeConnection {
  /** The request URL of the handshake (path and query). */
  readonly url: string
  readonly socket: WebSocket
  /** Sends one envelope (id and timestamp filled in). */
  send (type: string, data: unknown, extra?: Record<string, unknown>): void
  /** connection.established, with an inbox position when given. */
  establish (inbox?: { epoch: string, offset: number }): void
  /** The next message the client sent, parsed. */
  next (): Promise<{ type: string, data: Record<string, unknown>, id?: string }>
}

let ids = 0

/** Accepts every socket; each connection is handed out in order by nextConnection(). */
export async function startFakeServer (t: Teardown): Promise<{ url: string, nextConnection (): Promise<FakeConnection> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'fastify-realtime.v1' })
  t.teardown(() => new Promise<void>(resolve => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) }))
  await once(wss, 'listening')
  const waiting: FakeConnection[] = []
  let wake: (() => void) | undefined
  wss.on('connection', (socket, request) => {
    socket.on('error', () => {})
    const inbound: Array<{ type: string, data: Record<string, unknown>, id?: string }> = []
    let arrived: (() => void) | undefined
    socket.on('message', (raw) => {
      inbound.push(JSON.parse(String(raw)))
      arrived?.()
    })
    const connection: FakeConnection = {
      url: request.url ?? '',
      socket,
      send (type, data, extra = {}) {
        socket.send(JSON.stringify({ type, data, timestamp: new Date().toISOString(), id: `m${++ids}`, ...extra }))
      },
      establish (inbox) {
        connection.send('connection.established', {
          connection_id: `c${++ids}`,
          user_id: 'u',
          server_time: new Date().toISOString(),
          features: [],
          heartbeat_interval_ms: 60_000,
          connection_timeout_ms: 120_000,
          ...(inbox === undefined ? {} : { inbox })
        })
      },
      async next () {
        while (inbound.length === 0) {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('the client sent nothing within 3000 ms')), 3000)
            arrived = () => { clearTimeout(timer); arrived = undefined; resolve() }
          })
        }
        return inbound.shift() as { type: string, data: Record<string, unknown>, id?: string }
      }
    }
    waiting.push(connection)
    wake?.()
  })
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`,
    async nextConnection () {
      while (waiting.length === 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no connection within 3000 ms')), 3000)
          wake = () => { clearTimeout(timer); wake = undefined; resolve() }
        })
      }
      return waiting.shift() as FakeConnection
    }
  }
}
