import type { FastifyBaseLogger } from 'fastify'
import type { DeliveryTarget } from '../adapters/adapter.js'
import type { PresenceChange } from './backend.js'
import type { PresenceAudience, PresenceAudienceHook } from './options.js'

const USER_STATUS_EVENT = 'user.status_changed'

/** The data of `user.status_changed` as presence sends it. */
export interface UserStatusChange {
  user_id: string
  status: 'online' | 'offline'
  /** ISO 8601: when the change was decided. */
  timestamp: string
}

export interface UserStatusDeps {
  audience: PresenceAudienceHook | undefined
  deliver (target: DeliveryTarget, type: string, data: UserStatusChange): Promise<number>
  log: FastifyBaseLogger
}

/**
 * Announces a user's status change to the subscribers of
 * `user.status_changed` that the audience hook allows. The changes of one
 * user are announced one after the other, so a slow audience lookup for
 * "online" is never overtaken by the "offline" that follows it.
 */
export function createUserStatusAnnouncer (deps: UserStatusDeps): (change: PresenceChange) => void {
  const queues = new Map<string, Promise<void>>()
  return (change) => {
    const previous = queues.get(change.userId) ?? Promise.resolve()
    const next = previous.then(() => announce(deps, change))
    queues.set(change.userId, next)
    void next.then(() => {
      if (queues.get(change.userId) === next) queues.delete(change.userId)
    })
  }
}

async function announce (deps: UserStatusDeps, change: PresenceChange): Promise<void> {
  // no hook: nobody. Who may see whom is the host's to say (contacts, a team), and a user's own
  // connections could never witness a change of their own status (online means one of them is open)
  if (deps.audience === undefined) return
  let audience: PresenceAudience
  try {
    audience = await deps.audience(change.userId, change.status)
  } catch (err) {
    deps.log.error({ err, userId: change.userId }, 'fastify-realtime: presence audience hook failed; the status change was announced to nobody')
    return
  }
  const target = targetOf(audience)
  if (target === undefined) {
    if (audience !== 'all' && !Array.isArray(audience)) {
      deps.log.error({ userId: change.userId }, 'fastify-realtime: presence audience hook must return a list of user ids or \'all\'')
    }
    return
  }
  const data: UserStatusChange = { user_id: change.userId, status: change.status, timestamp: new Date(change.at).toISOString() }
  try {
    await deps.deliver(target, USER_STATUS_EVENT, data)
  } catch (err) {
    deps.log.warn({ err, userId: change.userId }, 'fastify-realtime: could not announce a status change to every node')
  }
}

function targetOf (audience: PresenceAudience): DeliveryTarget | undefined {
  if (audience === 'all') return { kind: 'event', event: USER_STATUS_EVENT }
  if (!Array.isArray(audience)) return undefined
  const userIds = audience.filter((userId): userId is string => typeof userId === 'string')
  return userIds.length === 0 ? undefined : { kind: 'users', userIds, event: USER_STATUS_EVENT }
}
