import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { createSigner } from 'fast-jwt'
import realtime, { type RealtimeOptions } from '../../lib/index.js'
import { connect as kitConnect, type ConnectOptions, type RealtimeTestClient } from '../../lib/testing/index.js'
import { openSocket, type TestClient } from './client.js'
import type { Teardown } from './teardown.js'

export const SECRET = 'test-secret-that-is-long-enough-for-hs256'

export interface TestServer {
  app: FastifyInstance
  port: number
  /** ws://127.0.0.1:port + the realtime path (prefix included) */
  wsUrl: string
  logs: string[]
  token (userId: string, claims?: Record<string, unknown>): string
  /** Connects as `userId` (token in the path) and consumes connection.established. */
  connect (userId: string, claims?: Record<string, unknown>): Promise<TestClient>
  /**
   * Connects as `userId` with the test kit's client (lib/testing, what a host's
   * tests use): established, and closed with the app. New tests use this one.
   */
  client (userId: string, options?: { claims?: Record<string, unknown> } & ConnectOptions): Promise<RealtimeTestClient>
}

export interface StartOptions {
  realtime?: RealtimeOptions
  prefix?: string
  /** Register things on the app before the plugin (a host's own @fastify/jwt, ...). */
  before?: (app: FastifyInstance) => Promise<void> | void
}

/** A client connected with connectAs: its connection id and welcome (connection.established's data). */
export interface Connected<W extends { connection_id: string } = { connection_id: string }> {
  client: TestClient
  id: string
  userId: string
  welcome: W
}

/** Connects as `userId` (token in the path, `query` after it, e.g. `?inbox=...`); closed in `t`'s teardown. */
export async function connectAs<W extends { connection_id: string } = { connection_id: string }> (t: Teardown, server: TestServer, userId: string, query = ''): Promise<Connected<W>> {
  const client = await openSocket(`${server.wsUrl}/${server.token(userId)}${query}`)
  t.teardown(() => client.close())
  const established = await client.next<W>('connection.established')
  return { client, id: established.data.connection_id, userId, welcome: established.data }
}

const sign = createSigner({ key: SECRET, algorithm: 'HS256' })

export function signToken (claims: Record<string, unknown>): string {
  return sign(claims)
}

/** A real server on 127.0.0.1:0 with the plugin, closed in teardown. */
export async function startServer (t: Teardown, options: StartOptions = {}): Promise<TestServer> {
  const logs: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString())
      callback()
    }
  })
  const app = Fastify({ logger: { level: 'trace', stream } })
  await options.before?.(app)
  const realtimeOptions: RealtimeOptions = { jwt: SECRET, ...options.realtime }
  await app.register(realtime, options.prefix === undefined ? realtimeOptions : { ...realtimeOptions, prefix: options.prefix })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port
  const path = (options.prefix ?? '') + (options.realtime?.path ?? '/ws')
  const wsUrl = `ws://127.0.0.1:${port}${path}`
  const clients: TestClient[] = []
  t.teardown(async () => { await Promise.all(clients.map(client => client.close())) })
  const token = (userId: string, claims: Record<string, unknown> = {}): string => sign({ sub: userId, ...claims })
  return {
    app,
    port,
    wsUrl,
    logs,
    token,
    client (userId, { claims, ...options } = {}) {
      return kitConnect(app, claims === undefined ? { userId } : { userId, claims }, { secret: SECRET, path, ...options })
    },
    async connect (userId, claims) {
      const client = await openSocket(`${wsUrl}/${token(userId, claims)}`)
      clients.push(client)
      await client.next('connection.established')
      return client
    }
  }
}
