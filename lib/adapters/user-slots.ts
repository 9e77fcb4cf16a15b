/**
 * Every user's connection slots, counted in one place for a whole cluster:
 * what the in-process bus of the test kit and the node:cluster primary hold
 * for their nodes (Redis keeps the same in its keys). No I/O.
 */
export class UserSlots {
  readonly #byUser = new Map<string, Set<string>>()

  /** Claims a slot for the connection; false (nothing claimed) when the user already holds `max`. */
  acquire (userId: string, connectionId: string, max: number): boolean {
    let held = this.#byUser.get(userId)
    if (held === undefined) {
      held = new Set()
      this.#byUser.set(userId, held)
    }
    if (held.size >= max) return false
    held.add(connectionId)
    return true
  }

  /** Gives the slot back; a slot never claimed changes nothing. */
  release (userId: string, connectionId: string): void {
    const held = this.#byUser.get(userId)
    if (held === undefined) return
    held.delete(connectionId)
    if (held.size === 0) this.#byUser.delete(userId)
  }

  /** Connections holding a slot, and users holding at least one. */
  counts (): { connections: number, users: number } {
    let connections = 0
    for (const held of this.#byUser.values()) connections += held.size
    return { connections, users: this.#byUser.size }
  }
}
