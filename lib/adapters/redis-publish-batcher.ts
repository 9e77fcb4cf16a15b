import { encodeBatch } from './redis-frame-codec.js'

/** What the batcher needs from its adapter. */
export interface PublishBatcherLink {
  /** Known once the adapter started. */
  readonly nodeId: string
  /** PUBLISH on the publisher connection. */
  publish (channel: string, text: string): Promise<unknown>
}

export interface PublishBatcherOptions {
  /** Off: every frame is its own PUBLISH, at once. */
  isEnabled: boolean
  /** Bounds of one batch: frames, and UTF-16 code units of bodies. */
  maxFrames?: number
  maxLength?: number
}

/** Consecutive frames for one Redis channel, published as one message. */
interface Run {
  readonly channel: string
  readonly bodies: string[]
  length: number
  readonly sent: Promise<void>
  resolve (): void
  reject (err: unknown): void
}

const MAX_FRAMES = 1024
const MAX_LENGTH = 512 * 1024

/**
 * Coalesces the publishes of one event-loop turn: consecutive frames for the
 * same Redis channel become one batch (lib/adapters/redis-frame-codec.ts),
 * sent at the end of the turn (setImmediate) or when a bound is reached.
 * Runs go out in the order their first frame came, and a new run starts
 * whenever the channel changes, so a receiver sees this node's frames in
 * the order they were published, whatever channels they use. Whoever sends
 * another command on the publisher flushes first (flush()), so a script
 * that publishes (history) or a count question never overtakes a frame
 * published before it.
 */
export class PublishBatcher {
  readonly #link: PublishBatcherLink
  readonly #isEnabled: boolean
  readonly #maxFrames: number
  readonly #maxLength: number
  #runs: Run[] = []
  #scheduled: NodeJS.Immediate | undefined

  constructor (link: PublishBatcherLink, options: PublishBatcherOptions) {
    this.#link = link
    this.#isEnabled = options.isEnabled
    this.#maxFrames = options.maxFrames ?? MAX_FRAMES
    this.#maxLength = options.maxLength ?? MAX_LENGTH
  }

  /** Resolves once Redis took the frame's batch; rejects with the batch's error. */
  publish (channel: string, body: string): Promise<void> {
    if (!this.#isEnabled) return this.#send(channel, [body])
    const last = this.#runs.at(-1)
    if (last !== undefined && last.channel === channel && last.bodies.length < this.#maxFrames && last.length + body.length <= this.#maxLength) {
      last.bodies.push(body)
      last.length += body.length
      return last.sent
    }
    const run = this.#open(channel, body)
    this.#runs.push(run)
    // a full run goes at once; one still open waits for the end of this turn
    if (this.#runs.length > 1) this.#sendRun(this.#runs.shift() as Run)
    this.#scheduled ??= setImmediate(() => {
      this.#scheduled = undefined
      this.flush()
    })
    return run.sent
  }

  /** Sends every frame waiting, now, in order. */
  flush (): void {
    const runs = this.#runs
    if (runs.length === 0) return
    this.#runs = []
    for (const run of runs) this.#sendRun(run)
  }

  #open (channel: string, body: string): Run {
    let resolve!: () => void
    let reject!: (err: unknown) => void
    const sent = new Promise<void>((res, rej) => { resolve = res; reject = rej })
    return { channel, bodies: [body], length: body.length, sent, resolve, reject }
  }

  #sendRun (run: Run): void {
    this.#send(run.channel, run.bodies).then(run.resolve, run.reject)
  }

  async #send (channel: string, bodies: readonly string[]): Promise<void> {
    await this.#link.publish(channel, encodeBatch(this.#link.nodeId, bodies))
  }
}
