import type { ClusterMessage } from '../adapters/adapter.js'
import type { PresenceChange } from '../presence/backend.js'

/**
 * The frames between a cluster worker's adapter and the primary's hub, over
 * node:cluster's IPC channel. Every frame carries `rt: IPC_TAG`, so the
 * host's own worker messages pass by untouched, and the hub and the adapter
 * ignore anything else.
 */
export const IPC_TAG = 'fastify-realtime/1'

/** What a worker asks the primary; each is answered once, by `id`. */
export type HubRequest =
  | { op: 'hello', nodeId: string, offlineGraceMs?: number }
  | { op: 'bye' }
  | { op: 'acquire', userId: string, connectionId: string, max: number }
  | { op: 'release', userId: string, connectionId: string }
  | { op: 'stats' }
  | { op: 'subscribe', channel: string }
  | { op: 'unsubscribe', channel: string }
  | { op: 'count', channel: string }
  | { op: 'presence', call: 'join' | 'leave', userId: string, connectionId: string, scopes: readonly string[] }
  | { op: 'presence', call: 'isPresent', scope: string, userId: string }
  | { op: 'presence', call: 'count', scope: string }
  | { op: 'presence', call: 'presentAmong', scope: string, userIds: readonly string[] }
  | { op: 'presence', call: 'members', scope: string, limit: number }
  | { op: 'history', call: 'append', message: unknown }
  | { op: 'history', call: 'read', stream: string, history: unknown, since: unknown, limit: number }

/** Worker -> primary. */
export type WorkerFrame =
  | { rt: typeof IPC_TAG, t: 'publish', message: ClusterMessage }
  | { rt: typeof IPC_TAG, t: 'request', id: number, request: HubRequest }
  /** The answer to the primary's `countQuery`. */
  | { rt: typeof IPC_TAG, t: 'counted', queryId: number, count: number }

/** Primary -> worker. */
export type PrimaryFrame =
  | { rt: typeof IPC_TAG, t: 'message', message: ClusterMessage }
  | { rt: typeof IPC_TAG, t: 'reply', id: number, value: unknown }
  | { rt: typeof IPC_TAG, t: 'reply', id: number, error: string }
  /** A presence change this worker is to announce (it decided it, or inherited it from a worker gone). */
  | { rt: typeof IPC_TAG, t: 'presence', change: PresenceChange }
  /** How many connections this worker has in `channel`. */
  | { rt: typeof IPC_TAG, t: 'countQuery', queryId: number, channel: string }

/** Whether an IPC message is one of ours (anything else is the host's). */
export function isTagged (message: unknown): message is { rt: typeof IPC_TAG, t: unknown } {
  return typeof message === 'object' && message !== null && (message as { rt?: unknown }).rt === IPC_TAG
}
