import { performance } from 'node:perf_hooks'
import type { Delivery } from '../delivery.js'
import type { DeliveryTarget } from '../adapters/adapter.js'
import type { NodeMetrics } from './metrics.js'
import { deliveryChannel } from './tracing.js'

/**
 * An app.realtime delivery with metrics on or a tracer listening: the local
 * fan-out is synchronous, so the time to its return is the time from the
 * call to the last socket write on this node. The publish to other nodes
 * settles later (the trace's asyncEnd).
 */
export function observedDelivery (delivery: Delivery, metrics: NodeMetrics | undefined, target: DeliveryTarget, type: string, data: unknown, channel?: string): Promise<number> {
  const startedAt = metrics === undefined ? 0 : performance.now()
  const pending = deliveryChannel.hasSubscribers
    ? deliveryChannel.tracePromise(deliverNow, { target, type }, undefined, delivery, target, type, data, channel)
    : deliverNow(delivery, target, type, data, channel)
  metrics?.observeDelivery((performance.now() - startedAt) / 1000)
  return pending
}

function deliverNow (delivery: Delivery, target: DeliveryTarget, type: string, data: unknown, channel: string | undefined): Promise<number> {
  return delivery.deliver(target, delivery.encodeText(type, data, channel))
}
