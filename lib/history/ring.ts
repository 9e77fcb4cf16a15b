/**
 * The last messages of one stream, oldest first: a queue with a moving
 * head, compacted now and then (amortised O(1) per message). Offsets are
 * consecutive, so only the newest one is kept (by the stream).
 */
export class MessageRing {
  #texts: Array<string | undefined> = []
  #times: number[] = []
  #head = 0

  get count (): number {
    return this.#texts.length - this.#head
  }

  /** Adds the newest message; past `capacity` the oldest goes. */
  push (text: string, at: number, capacity: number): void {
    this.#texts.push(text)
    this.#times.push(at)
    while (this.count > capacity) this.#dropOldest()
    this.#compact()
  }

  /** Drops the messages stored at or before `cutoff` (ms); returns how many. */
  expire (cutoff: number): number {
    let dropped = 0
    while (this.count > 0 && (this.#times[this.#head] as number) <= cutoff) {
      this.#dropOldest()
      dropped++
    }
    if (dropped > 0) this.#compact()
    return dropped
  }

  /** The `n` newest messages, oldest first. */
  newest (n: number): string[] {
    return this.#texts.slice(this.#texts.length - n) as string[]
  }

  /** When the oldest of the `n` newest messages was stored. */
  timeOfNewest (n: number): number {
    return this.#times[this.#times.length - n] as number
  }

  #dropOldest (): void {
    this.#texts[this.#head] = undefined
    this.#head++
  }

  #compact (): void {
    if (this.#head === this.#texts.length) {
      this.#texts = []
      this.#times = []
      this.#head = 0
    } else if (this.#head > 16 && this.#head * 2 > this.#texts.length) {
      this.#texts = this.#texts.slice(this.#head)
      this.#times = this.#times.slice(this.#head)
      this.#head = 0
    }
  }
}
