// The channels scenario: `channels` channels of 1-3 subscribers each over
// `connections` clients (lib/channel-plan.mjs), then `passes` passes that
// publish one message to every channel as fast as the server takes them.
// Each publish is stamped right before its call; its latency is its last
// subscriber's receipt minus that stamp, so it includes the wait behind the
// publishes before it in the pass (a burst, not one message alone).
import { median, percentile } from './common.mjs'
import { connectAll, cpuMicros, round, sleep } from './harness.mjs'
import { deliveriesPerPass } from './channel-plan.mjs'

export async function channels ({ server, lgs, plan, passes, bytes, probe, concurrency }) {
  const c = await connectAll(lgs, plan.connections, { subscribe: plan, concurrency })
  await sleep(300)
  const sent = []
  const cpu0 = await server.request('cpu')
  const done = probe()
  for (let pass = 0; pass < passes; pass++) {
    const firstSeq = 1 + pass * plan.channels
    const b = await server.request('publishChannels', { channels: plan.channels, firstSeq, bytes }, 120_000)
    sent.push({ firstSeq, ...b })
    await Promise.all(lgs.map((l) => l.request('awaitChannels', { passes: pass + 1, timeoutMs: 30_000 }, 60_000)))
    await sleep(50)
  }
  const noise = done()
  const cpu1 = await server.request('cpu')
  await sleep(300)
  // anything still missing after the grace period is lost
  const all = (await Promise.all(lgs.map((l) => l.request('receipts')))).map((r) => r.receipts)

  const latencies = []
  const perPass = []
  let delivered = 0
  for (const pass of sent) {
    let lastOfPass = -Infinity
    for (let ch = 0; ch < plan.channels; ch++) {
      const seq = pass.firstSeq + ch
      let last = -Infinity
      for (const receipts of all) {
        const r = receipts[seq]
        if (r === undefined) continue
        delivered += r.count
        if (r.last > last) last = r.last
      }
      if (last === -Infinity) continue
      latencies.push(last - pass.sendAt[ch])
      if (last > lastOfPass) lastOfPass = last
    }
    perPass.push({
      // end to end: publishes of the pass over first call -> last receipt
      publishesPerSec: round(plan.channels / ((lastOfPass - pass.startAt) / 1000), 0),
      // how fast the server's publish calls returned
      callsPerSec: round(plan.channels / ((pass.doneAt - pass.startAt) / 1000), 0),
      reached: pass.reached
    })
  }
  latencies.sort((a, b) => a - b)
  const publishes = passes * plan.channels
  const expected = deliveriesPerPass(plan) * passes
  return {
    metrics: {
      publishesPerSec: median(perPass.map((p) => p.publishesPerSec)),
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      cpuPerPublishUs: cpuMicros(cpu0, cpu1) / publishes
    },
    established: c.established,
    subscribed: c.subscribed,
    subscriptions: c.subscriptions,
    failed: c.failed,
    delivered,
    expected,
    losses: expected - delivered + c.failed + (c.established - c.subscribed),
    perPass,
    noise
  }
}
