import type { FastifyRequest } from 'fastify'
import { INBOX_QUERY_PARAMETER, parseInboxPosition } from '../protocol/positions.js'
import type { InboxAsk } from './recovery.js'
import type { ResolvedOptions } from '../options.js'
import type { Adapter } from '../adapters/adapter.js'
import { MemoryAdapter } from '../adapters/memory.js'
import { InvalidOptionsError } from '../errors.js'

/** The handshake's `?inbox=<epoch>:<offset>`: undefined when absent, null when malformed (answered epoch_changed). */
export function inboxAskOf (request: FastifyRequest): InboxAsk {
  const query = request.query as Record<string, unknown> | null | undefined
  if (query === null || typeof query !== 'object' || !Object.hasOwn(query, INBOX_QUERY_PARAMETER)) return undefined
  return parseInboxPosition(query[INBOX_QUERY_PARAMETER]) ?? null
}

/**
 * History kept in one process's memory is wrong for a cluster (each node
 * would number the same stream its own way): a cluster adapter must bring
 * its own engine (the Redis adapter does).
 */
export function checkHistoryEngine (options: ResolvedOptions, adapter: Adapter): void {
  if (adapter.history !== undefined || adapter instanceof MemoryAdapter) return
  const withHistory = [...options.channels].filter(([, namespace]) => namespace.history !== undefined).map(([name]) => `channels.${name}.history`)
  if (options.inbox !== undefined) withHistory.push('inbox')
  if (withHistory.length === 0) return
  throw new InvalidOptionsError(`${withHistory.join(', ')} need an adapter with a history engine (adapter.history, as the Redis adapter has) or the in-memory adapter`)
}
