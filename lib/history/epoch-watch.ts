import type { StreamPosition } from '../protocol/server-messages.js'

interface Known {
  epoch: string
  /** The channel, or the inbox's user. */
  readonly owner: string
  readonly isInbox: boolean
}

export interface EpochChange<C> {
  readonly isInbox: boolean
  /** The channel, or the inbox's user. */
  readonly owner: string
  readonly position: StreamPosition
  /** The connection whose read showed the change: it has the new position already. */
  readonly except: C | undefined
}

/**
 * The epoch this node's connections hold for each stream they are on. When
 * a live message, or a read for a new subscriber, shows another one (Redis
 * restarted empty under them), the connections already on the stream are
 * told `epoch_changed` with the new position before anything of the new
 * epoch: otherwise its offsets, starting again from 1, would look like
 * messages they already have.
 */
export class EpochWatch<C> {
  readonly #known = new Map<string, Known>()
  readonly #onChange: (change: EpochChange<C>) => void

  constructor (onChange: (change: EpochChange<C>) => void) {
    this.#onChange = onChange
  }

  get size (): number {
    return this.#known.size
  }

  /** A live message of the stream: `offset` of epoch `epoch`. */
  observe (key: string, isInbox: boolean, owner: string, epoch: string, offset: number): void {
    this.#see(key, isInbox, owner, epoch, offset - 1, undefined)
  }

  /** A read gave a connection this position: the others on the stream are told if the epoch moved. */
  learned (key: string, isInbox: boolean, owner: string, position: StreamPosition, reader: C): void {
    this.#see(key, isInbox, owner, position.epoch, position.offset, reader)
  }

  /** Forgets streams that no local connection is on any more. */
  sweep (isInUse: (isInbox: boolean, owner: string) => boolean): void {
    for (const [key, known] of this.#known) {
      if (!isInUse(known.isInbox, known.owner)) this.#known.delete(key)
    }
  }

  #see (key: string, isInbox: boolean, owner: string, epoch: string, offset: number, except: C | undefined): void {
    const known = this.#known.get(key)
    if (known === undefined) {
      this.#known.set(key, { epoch, owner, isInbox })
      return
    }
    if (known.epoch === epoch) return
    known.epoch = epoch
    this.#onChange({ isInbox, owner, position: { epoch, offset: Math.max(0, offset) }, except })
  }
}
