import { performance } from 'node:perf_hooks'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Counters } from '../stats.js'
import type { NodeMetrics } from './metrics.js'
import { handshakeChannel, type HandshakeTraceContext } from './tracing.js'

type HandshakeHook = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void

interface Observed {
  readonly startedAt: number
  readonly trace: HandshakeTraceContext | undefined
  /** Still inside the hook's synchronous part: the outcome is published after `end`. */
  isSync: boolean
  hasSettled: boolean
}

/**
 * Times handshakes and publishes them on the handshake tracing channel.
 * With metrics off and no subscriber, a handshake costs one check here.
 * Refusals always pass through `refused()`, which counts them by reason.
 */
export class HandshakeObserver {
  readonly #counters: Counters
  readonly #metrics: () => NodeMetrics | undefined
  readonly #observed = new WeakMap<FastifyRequest, Observed>()

  constructor (counters: Counters, metrics: () => NodeMetrics | undefined) {
    this.#counters = counters
    this.#metrics = metrics
  }

  /** The plugin's handshake hook, observed. `userIdOf` reads who the checks admitted. */
  wrap (hook: HandshakeHook, userIdOf: (request: FastifyRequest) => string | undefined): HandshakeHook {
    return (request, reply, done) => {
      const isTraced = handshakeChannel.hasSubscribers
      if (!isTraced && this.#metrics() === undefined) return hook(request, reply, done)
      const trace: HandshakeTraceContext | undefined = isTraced ? { request } : undefined
      const observed: Observed = { startedAt: performance.now(), trace, isSync: true, hasSettled: false }
      this.#observed.set(request, observed)
      const admitted = (err?: Error): void => {
        if (err === undefined && trace !== undefined) {
          const userId = userIdOf(request)
          if (userId !== undefined) trace.userId = userId
        }
        this.#settle(request, observed, err)
        done(err)
      }
      if (trace === undefined) return hook(request, reply, admitted)
      try {
        handshakeChannel.start.runStores(trace, hook, undefined, request, reply, admitted)
      } finally {
        handshakeChannel.end.publish(trace)
        observed.isSync = false
        if (observed.hasSettled) publishSettled(trace)
      }
    }
  }

  /** Every refusal: counted by reason; timed and traced when its handshake was observed. */
  refused (request: FastifyRequest, refusal: Error & { code?: string }): void {
    this.#counters.countRefusal(refusal.code)
    const observed = this.#observed.get(request)
    if (observed !== undefined) this.#settle(request, observed, refusal)
  }

  #settle (request: FastifyRequest, observed: Observed, error: Error | undefined): void {
    /* c8 ignore next */ // a hook answers once; kept so a second answer is never counted twice
    if (observed.hasSettled) return
    observed.hasSettled = true
    this.#observed.delete(request)
    this.#metrics()?.observeHandshake((performance.now() - observed.startedAt) / 1000, error === undefined ? 'accepted' : 'refused')
    const trace = observed.trace
    if (trace === undefined) return
    if (error !== undefined) {
      trace.error = error
      handshakeChannel.error.publish(trace)
    }
    if (!observed.isSync) publishSettled(trace)
  }
}

function publishSettled (trace: HandshakeTraceContext): void {
  handshakeChannel.asyncStart.publish(trace)
  handshakeChannel.asyncEnd.publish(trace)
}
