import type { Redis, RedisOptions } from 'ioredis'
import { AdapterDependencyMissingError } from '../errors.js'
import { ACQUIRE, HEARTBEAT, LEAVE, RELEASE, RESYNC, STATS } from './redis-scripts.js'
import { HISTORY_APPEND, HISTORY_READ } from './redis-history-scripts.js'
import type { HistoryCommands } from './redis-history.js'
import type { RedisClientLike } from './redis-options.js'

/** The lease scripts (lib/adapters/redis-scripts.ts), as the publisher connection defines them. */
export interface LeaseScripts {
  rtAcquire (userKey: string, nodeConnsKey: string, nodeKey: string, connectionId: string, nodeId: string, max: number, prefix: string, userId: string): Promise<number>
  rtRelease (userKey: string, nodeConnsKey: string, connectionId: string): Promise<number>
  rtHeartbeat (nodeKey: string, nodesKey: string, nodeId: string, leaseMs: number, prefix: string): Promise<[number, number]>
  rtResync (nodeConnsKey: string, nodeId: string, prefix: string, ...pairs: string[]): Promise<number>
  rtLeave (nodeConnsKey: string, nodeKey: string, nodesKey: string, nodeId: string, prefix: string): Promise<number>
  rtStats (nodesKey: string, prefix: string): Promise<[number, number, number]>
}

/** The adapter's command connection: publishes, and runs the lease and history scripts. */
export type Publisher = Redis & LeaseScripts & HistoryCommands

type RedisConstructor = new (url: string, options: RedisOptions) => Redis

/** Options of both connections of a node. */
export function connectionOptions (nodeId: string, commandTimeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    // fail fast while Redis is away: nothing queues up, a publish rejects at once
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectionName: `fastify-realtime:${nodeId}`,
    // we resubscribe ourselves, so we know when the channel is live again
    autoResubscribe: false
  }
}

/** Defines the lease and history scripts on the publisher connection. */
export function defineScripts (connection: Redis): Publisher {
  connection.defineCommand('rtAcquire', { numberOfKeys: 3, lua: ACQUIRE })
  connection.defineCommand('rtRelease', { numberOfKeys: 2, lua: RELEASE })
  connection.defineCommand('rtHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT })
  connection.defineCommand('rtResync', { numberOfKeys: 1, lua: RESYNC })
  connection.defineCommand('rtLeave', { numberOfKeys: 3, lua: LEAVE })
  connection.defineCommand('rtStats', { numberOfKeys: 1, lua: STATS })
  connection.defineCommand('rtHistoryAppend', { numberOfKeys: 0, lua: HISTORY_APPEND })
  connection.defineCommand('rtHistoryRead', { numberOfKeys: 0, lua: HISTORY_READ })
  return connection as Publisher
}

/** A duplicate of the host's client (never the client itself: it goes in subscriber mode, and is quit), or a new one. */
export function openConnection (client: RedisClientLike | undefined, url: string, options: RedisOptions): Redis {
  if (client !== undefined) return client.duplicate(options as Record<string, unknown>) as Redis
  const IORedis = loadIORedis()
  return new IORedis(url, options)
}

export function loadIORedis (): RedisConstructor {
  try {
    // loaded here, not at the top: hosts without Redis never need ioredis installed
    return (require('ioredis') as { Redis: RedisConstructor }).Redis
  } catch (err) {
    /* c8 ignore next */ // only a missing ioredis is ours to explain
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err
    throw new AdapterDependencyMissingError('redisAdapter()', 'ioredis@5')
  }
}

/** QUIT when the connection is up (pending replies arrive first), else drop it. */
export async function quit (connection: Redis | undefined): Promise<void> {
  if (connection === undefined) return
  if (connection.status === 'ready') {
    try {
      await connection.quit()
      return
    } catch {}
  }
  connection.disconnect()
}
