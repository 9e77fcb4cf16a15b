import { subscribeWith, type Envelope, type TestClient } from '../helpers/client.js'
import { connectAs, type Connected as ServerConnected, type TestServer } from '../helpers/server.js'
import type { RealtimeOptions } from '../../lib/index.js'
import type { Teardown } from '../helpers/teardown.js'

export const HISTORY = { size: 100, ttlMs: 60_000 }

/** A review namespace with history, an open lobby without, and the inbox on. */
export const withHistory = (extra: RealtimeOptions = {}): RealtimeOptions => ({
  channels: { review: { history: HISTORY }, lobby: {} },
  inbox: HISTORY,
  ...extra
})

export interface Position { epoch: string, offset: number }

/** connection.established's data, with the inbox's position when the inbox is on. */
export interface Welcome { connection_id: string, inbox?: Position }

export type Connected = ServerConnected<Welcome>

/** Connects as `userId` (token in the path, `query` after it); closed in teardown (test/helpers/server.ts). */
export const connect = async (t: Teardown, server: TestServer, userId: string, query = ''): Promise<Connected> => connectAs<Welcome>(t, server, userId, query)

/** Sends a subscribe with an id; resolves its subscription.confirmed (or error) (test/helpers/client.ts). */
export const subscribe = async (client: TestClient, data: Record<string, unknown>): Promise<Envelope<{ positions?: Record<string, Position>, request_id?: string }>> => subscribeWith(client, data)

/** Every message the client receives from now, in order, up to and including the first that `last` accepts. */
export async function receiveUntil (client: TestClient, last: (message: Envelope) => boolean, timeoutMs = 5000): Promise<Envelope[]> {
  const messages: Envelope[] = []
  for (;;) {
    const message = await client.next(undefined, timeoutMs)
    messages.push(message)
    if (last(message)) return messages
  }
}

export const isType = (type: string) => (message: Envelope): boolean => message.type === type

/** A system.notification whose message is `text`. */
export const isNote = (text: string) => (message: Envelope): boolean =>
  message.type === 'system.notification' && (message.data as { message?: unknown }).message === text

/** A system.notification whose message is `text` (test/helpers/messages.ts). */
export { notification as note } from '../helpers/messages.js'

export const change = (n: number) => ({ type: 'review.updated' as const, data: { review_id: '42', changes: { n }, timestamp: new Date().toISOString() } })

/** The offsets of the messages, in order (undefined for those without). */
export const offsets = (messages: Envelope[]): Array<number | undefined> => messages.map(m => (m as { offset?: number }).offset)

/** A promise the test settles (test/helpers/deferred.ts). */
export { deferred } from '../helpers/deferred.js'
