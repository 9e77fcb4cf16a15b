import { openSocket, type Envelope, type TestClient } from '../helpers/client.js'
import type { TestServer } from '../helpers/server.js'
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

export interface Connected {
  client: TestClient
  id: string
  /** connection.established's data. */
  welcome: { connection_id: string, inbox?: Position }
}

/** Connects as `userId` (token in the path, `query` after it); closed in teardown. */
export async function connect (t: Teardown, server: TestServer, userId: string, query = ''): Promise<Connected> {
  const client = await openSocket(`${server.wsUrl}/${server.token(userId)}${query}`)
  t.teardown(() => client.close())
  const established = await client.next<{ connection_id: string, inbox?: Position }>('connection.established')
  return { client, id: established.data.connection_id, welcome: established.data }
}

let nextRequest = 0

/** Sends a subscribe with an id; resolves its subscription.confirmed (or error). */
export async function subscribe (client: TestClient, data: Record<string, unknown>): Promise<Envelope<{ positions?: Record<string, Position>, request_id?: string }>> {
  const id = `s${++nextRequest}`
  client.send({ type: 'subscribe', id, data })
  return client.nextWhere((m) => (m.data as { request_id?: unknown }).request_id === id && m.type !== 'recovery.result', `the answer to ${id}`, 5000) as never
}

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

/** A promise the test settles. */
export function deferred (): { promise: Promise<void>, resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((res) => { resolve = res })
  return { promise, resolve }
}
