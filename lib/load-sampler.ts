import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

/** Event loop delay over one sweep tick, in ms. */
export interface LoopDelay {
  mean: number
  p99: number
  max: number
}

/**
 * How loaded the process is: the event loop delay, sampled on each sweep
 * tick, for load shedding (handshake), health and the metrics.
 */
export class LoadSampler {
  readonly #loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 })
  #recentLoopDelay: LoopDelay = { mean: 0, p99: 0, max: 0 }

  start (): void {
    this.#loopDelay.enable()
  }

  stop (): void {
    this.#loopDelay.disable()
  }

  /** Mean event loop delay in ms over the last sweep tick, for load shedding. */
  get meanMs (): number {
    return this.#recentLoopDelay.mean
  }

  /** The shedding decision: new connections are refused while the mean delay is over `maxMs` (0 never sheds). */
  isOverloaded (maxMs: number): boolean {
    return maxMs > 0 && this.#recentLoopDelay.mean > maxMs
  }

  /** A copy of the last sample. */
  recent (): LoopDelay {
    return { ...this.#recentLoopDelay }
  }

  /** Takes the delay since the last sample and starts a new one. */
  sample (): void {
    const delay = this.#loopDelay
    // the histogram counts its own sampling resolution as delay: take it off, like @fastify/under-pressure
    const ms = (ns: number): number => Number.isNaN(ns) ? 0 : Math.max(0, Math.round((ns / 1e6 - 20) * 100) / 100)
    this.#recentLoopDelay = { mean: ms(delay.mean), p99: ms(delay.percentile(99)), max: ms(delay.max) }
    delay.reset()
  }
}
