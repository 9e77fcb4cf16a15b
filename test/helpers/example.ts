import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { RealtimeOptions } from '../../lib/index.js'
import { buildApp } from '../../examples/app.js'
import { isPongFor, openSocket, subscribeWith, type Envelope, type TestClient } from './client.js'
import type { Teardown } from './teardown.js'

export interface HttpAnswer { status: number, body: Record<string, unknown> }

/** The example app on a real port, and HTTP and WebSocket clients for it. */
export interface Example {
  app: FastifyInstance
  base: string
  request: (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token?: string) => Promise<HttpAnswer>
  post: (path: string, body: unknown, token?: string) => Promise<HttpAnswer>
  login: (userId: string) => Promise<string>
  /** A socket logged in as `userId`, past connection.established. */
  connect: (userId: string) => Promise<{ client: TestClient, token: string }>
}

export async function startExample (t: Teardown, realtime: RealtimeOptions = {}, { uploadStepMs = 10, maxReviews = 10_000 } = {}): Promise<Example> {
  const app = await buildApp({ jwtSecret: 'example-test-secret', uploadStepMs, maxReviews, realtime })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const request: Example['request'] = async (method, path, body, token) => {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const response = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    return { status: response.status, body: await response.json() as Record<string, unknown> }
  }
  const post: Example['post'] = async (path, body, token) => request('POST', path, body, token)
  const login = async (userId: string): Promise<string> => (await post('/api/v1/auth/token', { userId })).body.token as string
  const clients: TestClient[] = []
  t.teardown(async () => { await Promise.all(clients.map(c => c.close())) })
  return {
    app,
    base,
    request,
    post,
    login,
    async connect (userId) {
      const token = await login(userId)
      const client = await openSocket(`${base.replace('http', 'ws')}/api/v1/ws/${token}`)
      clients.push(client)
      await client.next('connection.established')
      return { client, token }
    }
  }
}

/** Sends subscribe (or unsubscribe) with an id and resolves its answer: the confirmation or the error. */
export async function subscribeTo (client: TestClient, channels: string[], type: 'subscribe' | 'unsubscribe' = 'subscribe'): Promise<Envelope> {
  return await subscribeWith(client, { channels }, type)
}

/**
 * A sentinel: pings the connection and, once its pong is back, returns the
 * messages of `type` that arrived before it (everything the server wrote to
 * this connection before the ping was answered has arrived by then).
 */
export async function receivedBeforePong (client: TestClient, type: string): Promise<Envelope[]> {
  const label = randomUUID()
  const isPong = isPongFor(label)
  client.send({ type: 'ping', data: { pingId: label } })
  // the messages of other types stay queued, ahead of what came after the pong
  const taken: Envelope[] = []
  for (;;) {
    const message = await client.nextWhere((m) => m.type === type || isPong(m))
    if (isPong(message)) return taken
    taken.push(message)
  }
}
