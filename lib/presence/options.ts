import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { PresenceStatus } from './backend.js'

/** Who hears of a user's status change: these users' connections, or every connection. */
export type PresenceAudience = readonly string[] | 'all'
/** Decides who hears that `userId` went online or offline; may be async (a contact list in a database). */
export type PresenceAudienceHook = (userId: string, status: PresenceStatus) => PresenceAudience | Promise<PresenceAudience>

/** The data part of the `presence` option: one schema, every default declared here. */
export const PresenceDataOptionsSchema = Type.Object({
  offlineGraceMs: Type.Integer({ minimum: 0, maximum: 3600000, default: 5000, description: 'a user with no connection left stays online this long, so a reconnect or a page reload does not flap' })
}, { additionalProperties: false })
export type PresenceDataOptions = Static<typeof PresenceDataOptionsSchema>

export interface PresenceOptions extends Partial<PresenceDataOptions> {
  /**
   * Who receives `user.status_changed` (among the subscribers of that event).
   * Without it nobody does: nobody learns anything about another user unless
   * the host says so (the queries of `app.realtime` work either way).
   */
  audience?: PresenceAudienceHook
}

export interface ResolvedPresenceOptions extends Readonly<PresenceDataOptions> {
  readonly audience: PresenceAudienceHook | undefined
}

/** `presence: true | {...}` turns user presence on; left out or false, it is off. */
export function resolvePresenceOptions (value: unknown, problems: string[]): ResolvedPresenceOptions | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) value = {}
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push('presence must be true, false or { offlineGraceMs?, audience? }')
    return undefined
  }
  const { audience, ...rest } = value as Record<string, unknown>
  const data: Record<string, unknown> = {}
  for (const [key, entry] of Object.entries(rest)) if (entry !== undefined) data[key] = entry
  Value.Default(PresenceDataOptionsSchema, data)
  for (const error of Value.Errors(PresenceDataOptionsSchema, data)) {
    problems.push(`presence${error.path.replaceAll('/', '.')} ${error.message}`)
  }
  if (audience !== undefined && typeof audience !== 'function') problems.push('presence.audience must be a function (userId, status) => userIds | \'all\'')
  return Object.freeze({ ...(data as PresenceDataOptions), audience: audience as PresenceAudienceHook | undefined })
}
