import { messagesBeforeMarker, subscribeWith, type Envelope, type TestClient } from '../helpers/client.js'
import type { TestServer } from '../helpers/server.js'
import { Value } from '@sinclair/typebox/value'
import { FormatRegistry, type TSchema } from '@sinclair/typebox'
import { ServerEnvelopeSchema, type RealtimeOptions } from '../../lib/index.js'
import type { Teardown } from '../helpers/teardown.js'
export type { Teardown } from '../helpers/teardown.js'

/**
 * Nodes of one logical server. With the memory adapter the process is the
 * whole cluster, so "two nodes" are the same node twice: every behaviour is
 * still checked, only the cross-node hop is not there to exercise.
 */
export interface PresenceCluster {
  readonly name: string
  start (t: Teardown, count: number, realtime: RealtimeOptions): Promise<TestServer[]>
}

export interface StatusChanged { user_id: string, status: string, timestamp: string }

/**
 * Everything `client` received up to a marker that `node` sends it now: a
 * negative check by sentinel (what was not there before the marker never came).
 */
export async function receivedBeforeMarker (client: TestClient, node: TestServer, _userId?: string): Promise<Envelope[]> {
  // the marker goes to this connection only (test/helpers/client.ts); `_userId` is kept for the callers that pass it
  return await messagesBeforeMarker(client, node.app.realtime, 10000)
}

/** The next `count` user.status_changed messages, as `user:status` strings (order kept). */
export async function nextStatuses (client: TestClient, count: number, timeoutMs = 10000): Promise<string[]> {
  const seen: string[] = []
  while (seen.length < count) {
    const message = await client.next<StatusChanged>('user.status_changed', timeoutMs)
    seen.push(`${message.data.user_id}:${message.data.status}`)
  }
  return seen
}

/** A client subscribed to user.status_changed. */
export async function subscribedToStatus (client: TestClient): Promise<TestClient> {
  await subscribeWith(client, { events: ['user.status_changed'] })
  return client
}

/** Status messages among messages, as `user:status` strings. */
export function statusesIn (messages: Envelope[]): string[] {
  return messages.filter(m => m.type === 'user.status_changed').map(m => `${String(m.data.user_id)}:${String(m.data.status)}`)
}

// TypeBox checks formats only once told how (as test/schemas.test.ts does)
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value))

/** Schema errors of a received message against its exported data schema, inside the envelope (empty when it matches). */
export function schemaErrors (message: Envelope<unknown>, schema: TSchema): string[] {
  return [...Value.Errors(ServerEnvelopeSchema(message.type, schema), message)].map(error => `${error.path} ${error.message}`)
}
