import { MemoryAdapter } from '../../lib/index.js'
import { MemoryHistory } from '../../lib/history/memory.js'
import type { HistoryEngine, StreamAppend, StreamKey, StreamRead, StreamSequence } from '../../lib/index.js'
import type { HistoryOptions, StreamPosition } from '../../lib/index.js'

/**
 * The in-memory engine, whose reads wait until the test lets them go: the
 * window in which live messages meet a recovery. `snapshot: 'before'` reads
 * the history when asked and answers later (messages published meanwhile
 * come after the replayed top); 'after' reads it when let go (they are in
 * the replay, and their live copies must be dropped).
 */
export class PausedReads implements HistoryEngine {
  readonly delivery = 'local' as const
  readonly inner = new MemoryHistory()
  snapshot: 'before' | 'after' = 'before'
  #paused: Array<() => void> | undefined
  #onRead: (() => void) | undefined

  pause (): void {
    this.#paused = []
  }

  /** Resolves when a read is waiting. */
  nextRead (): Promise<void> {
    return new Promise(resolve => { this.#onRead = resolve })
  }

  /** Lets the waiting reads go, and stops pausing. */
  resume (): void {
    const waiting = this.#paused ?? []
    this.#paused = undefined
    for (const go of waiting) go()
  }

  append (message: StreamAppend): Promise<StreamSequence> {
    return this.inner.append(message)
  }

  async read (key: StreamKey, history: HistoryOptions, since: StreamPosition | undefined, limit: number): Promise<StreamRead> {
    const paused = this.#paused
    if (paused === undefined) return this.inner.read(key, history, since, limit)
    const early = this.snapshot === 'before' ? this.inner.readNow(key, history, since, limit) : undefined
    await new Promise<void>(resolve => {
      paused.push(resolve)
      this.#onRead?.()
    })
    return early ?? this.inner.readNow(key, history, since, limit)
  }
}

/** The in-memory adapter with PausedReads as its history engine. */
export class PausedReadsAdapter extends MemoryAdapter {
  readonly history = new PausedReads()
}
