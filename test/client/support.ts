// Helpers of the client tests (not a test file: .taprc runs *.test.ts only).
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import realtime, { type RealtimeOptions } from '../../lib/index.js'
import {
  RealtimeClient, type ClientEventMap, type Clock, type RealtimeClientOptions, type StateChange, type WebSocketConstructor
} from '../../lib/client/index.js'
import { SECRET, signToken } from '../helpers/server.js'

import type { Teardown } from '../helpers/teardown.js'

export { SECRET, signToken }
export type { Teardown }

/** A token for `userId`, valid for an hour unless claims say otherwise. */
export function token (userId: string, claims: Record<string, unknown> = {}): string {
  return signToken({ sub: userId, exp: Math.floor(Date.now() / 1000) + 3600, ...claims })
}

export const BAD_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmVkLXdpdGgtdGhlLXdyb25nLXNlY3JldA'

/** The ws package on Node 20 (no global WebSocket there). */
export const NodeWebSocket: WebSocketConstructor = WebSocket

/** A WebSocket class that counts the sockets the client creates. */
export function countingWebSocket (): { WebSocket: WebSocketConstructor, count: () => number } {
  let created = 0
  class Counting extends WebSocket {
    constructor (url: string, protocols?: string | string[]) {
      super(url, protocols)
      created++
    }
  }
  return { WebSocket: Counting, count: () => created }
}

export interface RealtimeServer {
  app: FastifyInstance
  port: number
  url: string
  close (): Promise<void>
}

/**
 * A Fastify app with the real plugin on 127.0.0.1 (port 0, or a given port
 * to "restart" a server where the last one was). Closed in teardown.
 */
export async function startRealtime (t: Teardown, options: { port?: number, realtime?: RealtimeOptions } = {}): Promise<RealtimeServer> {
  const app = Fastify()
  await app.register(realtime, { jwt: SECRET, handshakeRateLimit: false, rateLimit: { max: 10_000 }, ...options.realtime })
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' })
  let closed: Promise<void> | undefined
  const close = (): Promise<void> => {
    closed ??= app.close().then(() => {})
    return closed
  }
  t.teardown(close)
  const port = (app.server.address() as AddressInfo).port
  return { app, port, url: `ws://127.0.0.1:${port}/ws`, close }
}

/** A port nothing listens on (for now). */
export async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

/** A client with test-friendly defaults, closed in teardown (registered after the server, so it closes first). */
export function createClient (t: Teardown, options: Omit<RealtimeClientOptions, 'WebSocket'> & { WebSocket?: WebSocketConstructor }): RealtimeClient {
  const client = new RealtimeClient({
    WebSocket: NodeWebSocket,
    backoff: { initialDelayMs: 20, maxDelayMs: 200 },
    ...options
  })
  t.teardown(() => client.close())
  return client
}

/** Resolves with the listener arguments of the next `event` that matches, or rejects after timeoutMs. */
export function next<K extends keyof ClientEventMap> (
  client: RealtimeClient, event: K, match: (...args: ClientEventMap[K]) => boolean = () => true, timeoutMs = 3000
): Promise<ClientEventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no '${String(event)}' within ${timeoutMs} ms`)) }, timeoutMs)
    const off = client.on(event, (...args: ClientEventMap[K]) => {
      if (!match(...args)) return
      clearTimeout(timer)
      off()
      resolve(args)
    })
  })
}

/**
 * Records every `event` from now on; next() hands them out in order,
 * waiting for one when none is buffered (so no event is missed between awaits).
 */
export function record<K extends keyof ClientEventMap> (client: RealtimeClient, event: K): { next (timeoutMs?: number): Promise<ClientEventMap[K]>, readonly all: ClientEventMap[K][] } {
  const all: ClientEventMap[K][] = []
  let taken = 0
  let waiter: (() => void) | undefined
  client.on(event, (...args: ClientEventMap[K]) => {
    all.push(args)
    waiter?.()
  })
  return {
    all,
    async next (timeoutMs = 3000) {
      if (taken >= all.length) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => { waiter = undefined; reject(new Error(`no '${String(event)}' within ${timeoutMs} ms`)) }, timeoutMs)
          waiter = () => { clearTimeout(timer); waiter = undefined; resolve() }
        })
      }
      return all[taken++] as ClientEventMap[K]
    }
  }
}

/** Resolves when the client reaches `state` (now or later). */
export async function nextState (client: RealtimeClient, state: RealtimeClient['state'], timeoutMs = 3000): Promise<StateChange | undefined> {
  if (client.state === state) return undefined
  const [change] = await next(client, 'state', (change) => change.state === state, timeoutMs)
  return change
}

/**
 * A fake clock: timers run only when the test advances time. Records every
 * delay it was asked for.
 */
export class FakeClock implements Clock {
  #now = 0
  #nextId = 0
  readonly #timers = new Map<number, { at: number, callback: () => void }>()

  now (): number {
    return this.#now
  }

  setTimeout (callback: () => void, ms: number): unknown {
    const id = ++this.#nextId
    this.#timers.set(id, { at: this.#now + ms, callback })
    return id
  }

  clearTimeout (handle: unknown): void {
    this.#timers.delete(handle as number)
  }

  /** Moves time forward, running every timer due, in order. */
  advance (ms: number): void {
    const until = this.#now + ms
    for (;;) {
      let due: [number, { at: number, callback: () => void }] | undefined
      for (const entry of this.#timers) {
        if (entry[1].at <= until && (due === undefined || entry[1].at < due[1].at)) due = entry
      }
      if (due === undefined) break
      this.#timers.delete(due[0])
      this.#now = due[1].at
      due[1].callback()
    }
    this.#now = until
  }

  get pendingTimers (): number {
    return this.#timers.size
  }
}

/**
 * A TCP proxy in front of a server. pause() stops forwarding in both
 * directions on the current connections while keeping them open: a
 * half-open link, as after a NAT drops its mapping or a cable is pulled.
 */
export async function startProxy (t: Teardown, targetPort: number): Promise<{ port: number, pause (): void, connections: () => number }> {
  const pairs: Array<[net.Socket, net.Socket]> = []
  const server = net.createServer((downstream) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    pairs.push([downstream, upstream])
    downstream.pipe(upstream)
    upstream.pipe(downstream)
    downstream.on('error', () => upstream.destroy())
    upstream.on('error', () => downstream.destroy())
    downstream.on('close', () => upstream.destroy())
    upstream.on('close', () => downstream.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const [a, b] of pairs) { a.destroy(); b.destroy() }
    await new Promise<void>(resolve => server.close(() => resolve()))
  })
  return {
    port: (server.address() as AddressInfo).port,
    pause () {
      for (const [downstream, upstream] of pairs) {
        downstream.unpipe(upstream)
        upstream.unpipe(downstream)
        downstream.pause()
        upstream.pause()
      }
    },
    connections: () => pairs.filter(([a]) => !a.destroyed).length
  }
}
