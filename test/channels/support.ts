import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { openSocket, type Envelope, type TestClient } from '../helpers/client.js'
import type { TestServer } from '../helpers/server.js'
import type { Teardown } from '../helpers/teardown.js'

/** A connected client and its connection id (from its connection.established). */
export interface Member {
  client: TestClient
  id: string
  userId: string
}

/** Connects as `userId`, keeping the connection id; closed in teardown. */
export async function connect (t: Teardown, server: TestServer, userId: string): Promise<Member> {
  const client = await openSocket(`${server.wsUrl}/${server.token(userId)}`)
  t.teardown(() => client.close())
  const established = await client.next<{ connection_id: string }>('connection.established')
  return { client, id: established.data.connection_id, userId }
}

let nextRequest = 0

/** subscribe with an id; resolves the confirmation, or the error that answers it. */
export async function subscribe (client: TestClient, data: { events?: string[], channels?: string[] }, type: 'subscribe' | 'unsubscribe' = 'subscribe'): Promise<Envelope> {
  const id = `r${++nextRequest}`
  client.send({ type, id, data })
  return answerTo(client, id)
}

/** The confirmation or error whose request_id is `id`; other messages stay queued. */
export function answerTo (client: TestClient, id: string, timeoutMs = 5000): Promise<Envelope> {
  return client.nextWhere((m) => (m.data as { request_id?: unknown }).request_id === id, `the answer to ${id}`, timeoutMs)
}

/**
 * Everything the connection received before a marker sent to it now: the
 * negative check ("nothing else arrived") without waiting for a while. The
 * marker goes through `via` (another node, for a cross-node check: Redis
 * keeps one publisher's messages in order).
 */
export async function receivedBefore (member: Member, via: FastifyInstance): Promise<Envelope[]> {
  const marker = `marker-${randomUUID()}`
  await via.realtime.sendToConnection(member.id, { type: 'system.notification', data: { message: marker, level: 'info', timestamp: new Date().toISOString() } })
  const before: Envelope[] = []
  for (;;) {
    const message = await member.client.next(undefined, 5000)
    if (message.type === 'system.notification' && (message.data as { message?: unknown }).message === marker) return before
    before.push(message)
  }
}

/** A promise whose settlement the test controls (an authorize that answers when told). */
export interface Deferred<T> {
  promise: Promise<T>
  resolve (value: T): void
  reject (err: unknown): void
}

export function deferred<T> (): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** Resolves once a check holds, for server-side state no event announces (test/helpers/wait.ts). */
export { eventually as until } from '../helpers/wait.js'

export const review = (changes: Record<string, unknown>) => ({ type: 'review.updated' as const, data: { review_id: 'x', changes, timestamp: new Date().toISOString() } })
