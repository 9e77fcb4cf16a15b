import type { PresenceBackend, PresenceBackendContext, PresenceChange, PresenceMember } from '../presence/backend.js'
import type { HubRequest } from '../cluster/ipc-protocol.js'

/** How the presence backend reaches the primary: the adapter's request. */
export type HubCall = <T>(request: HubRequest) => Promise<T>

/**
 * Presence kept in the primary (lib/cluster/hub-presence.ts): every call is a
 * request to it, in order over the one IPC channel; the changes this worker
 * is to announce come back from it.
 */
export class IpcPresence implements PresenceBackend {
  readonly #context: PresenceBackendContext
  readonly #call: HubCall

  constructor (context: PresenceBackendContext, call: HubCall) {
    this.#context = context
    this.#call = call
  }

  get offlineGraceMs (): number {
    return this.#context.offlineGraceMs
  }

  /** A change the primary gave this worker to announce. */
  changed (change: PresenceChange): void {
    this.#context.changed(change)
  }

  async start (): Promise<void> {}

  async join (userId: string, connectionId: string, scopes: readonly string[]): Promise<void> {
    await this.#call({ op: 'presence', call: 'join', userId, connectionId, scopes })
  }

  async leave (userId: string, connectionId: string, scopes: readonly string[]): Promise<void> {
    await this.#call({ op: 'presence', call: 'leave', userId, connectionId, scopes })
  }

  isPresent (scope: string, userId: string): Promise<boolean> {
    return this.#call({ op: 'presence', call: 'isPresent', scope, userId })
  }

  presentAmong (scope: string, userIds: readonly string[]): Promise<string[]> {
    return this.#call({ op: 'presence', call: 'presentAmong', scope, userIds })
  }

  count (scope: string): Promise<number> {
    return this.#call({ op: 'presence', call: 'count', scope })
  }

  members (scope: string, limit: number): Promise<{ total: number, members: PresenceMember[] }> {
    return this.#call({ op: 'presence', call: 'members', scope, limit })
  }

  /** The state is the primary's: it outlives this worker, which frees its part by leaving or exiting. */
  async close (): Promise<void> {}
}
