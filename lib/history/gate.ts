import type { StreamCopy } from './stream-copy.js'
import { INBOX_KEY } from './stream-copy.js'

/** Where a gate's messages go. */
export interface GateSink {
  /** A live message the gate lets through at once: sent as any other (shared frame, slow-consumer bound). */
  send (message: StreamCopy | string): void
  /** A message the gate held: sent whole, past maxBufferedBytes (the gate's own bound applied while holding). */
  release (bytes: Buffer | string): void
  /** The held messages passed the bound: the connection is a slow consumer. */
  overflow (): void
  /** Nothing held or filtered any more: the connection can drop its gate. */
  idle (): void
}

/**
 * A stream being recovered holds its live messages until the replay is
 * out; afterwards it drops those at or below the replayed top (`floor`)
 * until a newer one arrives: from then on no older one can come, since a
 * node receives each stream's messages in offset order.
 */
type StreamState = { readonly isHolding: true } | { readonly isHolding: false, readonly floor: number }

interface HeldRaw { readonly raw: Buffer | string, readonly copy?: undefined }
interface HeldCopy { readonly copy: StreamCopy, hasChannel: boolean, hasInbox: boolean }
type Held = HeldRaw | HeldCopy

/**
 * One connection's recovery state: while it is `paused` (its
 * connection.established and inbox replay are not out yet) everything sent
 * to it waits; while a stream of it is being recovered, that stream's live
 * messages wait, and are merged by offset with the replay when it is done
 * (no duplicate, no gap, no reordering at the seam).
 */
export class RecoveryGate {
  #isPaused = false
  #resumed: { promise: Promise<void>, resolve: () => void } | undefined
  readonly #streams = new Map<string, StreamState>()
  #held: Held[] = []
  #heldBytes = 0
  readonly #sink: GateSink
  readonly #maxHeldBytes: number

  constructor (sink: GateSink, maxHeldBytes: number) {
    this.#sink = sink
    this.#maxHeldBytes = maxHeldBytes
  }

  get isPaused (): boolean {
    return this.#isPaused
  }

  /** Nothing held, nothing filtered: the connection no longer needs its gate. */
  get isIdle (): boolean {
    return !this.#isPaused && this.#streams.size === 0 && this.#held.length === 0
  }

  pause (): void {
    this.#isPaused = true
  }

  /** Resolves when the gate is no longer paused (at once if it is not). */
  whenResumed (): Promise<void> {
    if (!this.#isPaused) return Promise.resolve()
    if (this.#resumed === undefined) {
      let resolve!: () => void
      const promise = new Promise<void>((res) => { resolve = res })
      this.#resumed = { promise, resolve }
    }
    return this.#resumed.promise
  }

  /** Sends what was held, in order, except what a stream's replay already covered. */
  resume (): void {
    this.#isPaused = false
    this.#release()
    this.#resumed?.resolve()
    this.#resumed = undefined
  }

  /** From now on, hold the stream's live messages. */
  hold (stream: string): void {
    this.#streams.set(stream, { isHolding: true })
  }

  /** The stream's replay (up to `floor`) is out: release its held messages above it. */
  settle (stream: string, floor: number): void {
    this.#streams.set(stream, { isHolding: false, floor })
    this.#release()
  }

  /** The stream is not recovered after all (refused, left): drop its held messages. */
  discard (stream: string): void {
    this.#streams.set(stream, { isHolding: false, floor: Number.MAX_SAFE_INTEGER })
    this.#release()
    this.#streams.delete(stream)
  }

  /** A message that is in no stream (a reply, an event): held while paused. Returns whether it was held. */
  holdRaw (raw: Buffer | string): boolean {
    if (!this.#isPaused) return false
    this.#keep({ raw }, raw.length)
    return true
  }

  /** A live stream message for this connection. */
  offer (copy: StreamCopy): void {
    const held: HeldCopy = { copy, hasChannel: copy.channelText !== undefined, hasInbox: copy.inboxOffset !== undefined }
    if (this.#isPaused) {
      this.#keep(held, copy.bytes.length)
      return
    }
    this.#pass(held, true)
  }

  /**
   * Sends the parts of a message its streams let through, drops those they
   * already replayed, and keeps (if `mayKeep`) those they still hold.
   * Returns whether something is still held.
   */
  #pass (held: HeldCopy, mayKeep: boolean): boolean {
    const { copy } = held
    let channelHeld = false
    let inboxHeld = false
    if (held.hasChannel && copy.channel !== undefined) {
      const verdict = this.#judge(copy.channel, copy.channelOffset as number)
      if (verdict === 'drop') held.hasChannel = false
      channelHeld = verdict === 'hold'
    }
    if (held.hasInbox) {
      const verdict = this.#judge(INBOX_KEY, copy.inboxOffset as number)
      if (verdict === 'drop') held.hasInbox = false
      inboxHeld = verdict === 'hold'
    }
    const sendChannel = held.hasChannel && !channelHeld
    const sendInbox = held.hasInbox && !inboxHeld
    if (sendChannel || sendInbox) {
      const isWhole = sendChannel === (copy.channelText !== undefined) && sendInbox === (copy.inboxOffset !== undefined)
      if (!mayKeep) this.#sink.release(isWhole ? copy.bytes : copy.render(sendChannel, sendInbox))
      else this.#sink.send(isWhole ? copy : copy.render(sendChannel, sendInbox))
      if (sendChannel) held.hasChannel = false
      if (sendInbox) held.hasInbox = false
    }
    const isHeld = held.hasChannel || held.hasInbox
    if (isHeld && mayKeep) this.#keep(held, copy.bytes.length)
    if (mayKeep && this.isIdle) this.#sink.idle()
    return isHeld
  }

  #judge (stream: string, offset: number): 'send' | 'hold' | 'drop' {
    const state = this.#streams.get(stream)
    if (state === undefined) return 'send'
    if (state.isHolding) return 'hold'
    if (offset <= state.floor) return 'drop'
    // a newer message: no older one can follow
    this.#streams.delete(stream)
    return 'send'
  }

  #release (): void {
    if (this.#isPaused || this.#held.length === 0) return
    const held = this.#held
    this.#held = []
    this.#heldBytes = 0
    for (const entry of held) {
      if (entry.copy === undefined) {
        this.#sink.release(entry.raw)
      } else if (this.#pass(entry, false)) {
        this.#keep(entry, entry.copy.bytes.length)
      }
    }
  }

  #keep (entry: Held, bytes: number): void {
    this.#held.push(entry)
    this.#heldBytes += bytes
    if (this.#heldBytes > this.#maxHeldBytes) {
      this.#held = []
      this.#heldBytes = 0
      this.#sink.overflow()
    }
  }
}
