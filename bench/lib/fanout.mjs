// The fan-out scenario: N clients subscribed to one event, `broadcasts`
// broadcasts of a `bytes` payload one at a time (the next after every
// client got the previous one), server send time -> last client's receipt.
import { percentile, EVENT } from './common.mjs'
import { connectAll, cpuMicros, round, sleep } from './harness.mjs'

export async function fanout ({ server, lgs, n, probe, broadcasts, bytes, concurrency }) {
  const c = await connectAll(lgs, n, { subscribe: true, concurrency })
  await sleep(300)
  const latencies = []
  const perBroadcast = []
  const cpu0 = await server.request('cpu')
  const done = probe()
  for (let seq = 1; seq <= broadcasts; seq++) {
    const b = await server.request('broadcast', { seq, bytes, event: EVENT }, 60_000)
    const rs = await Promise.all(lgs.map((l) => l.request('await', { seq, timeoutMs: 20_000 }, 30_000)))
    const got = rs.reduce((s, r) => s + r.count, 0)
    const last = Math.max(...rs.map((r) => r.last).filter(Number.isFinite))
    const first = Math.min(...rs.map((r) => r.first).filter(Number.isFinite))
    const latency = last - b.sendAt
    latencies.push(latency)
    perBroadcast.push({ seq, reached: b.reached, got, lastMs: round(latency, 3), firstMs: round(first - b.sendAt, 3), sendCallMs: round(b.doneAt - b.sendAt, 3) })
    await sleep(20)
  }
  const noise = done()
  const cpu1 = await server.request('cpu')
  // a target with metrics: what one scrape costs with N connections (outside the measured phase)
  const scrape = server.info.target.endsWith('+metrics') ? await server.request('scrape') : undefined
  await sleep(300)
  // final count: anything still missing after the grace period is lost
  const all = await Promise.all(lgs.map((l) => l.request('receipts')))
  let delivered = 0
  for (const r of all) for (let seq = 1; seq <= broadcasts; seq++) delivered += r.receipts[seq]?.count ?? 0
  const expected = c.subscribed * broadcasts
  const sorted = [...latencies].sort((a, b) => a - b)
  return {
    metrics: {
      lastP50Ms: percentile(sorted, 50),
      lastP99Ms: percentile(sorted, 99),
      cpuPerDeliveryUs: cpuMicros(cpu0, cpu1) / Math.max(1, delivered)
    },
    established: c.established,
    subscribed: c.subscribed,
    failed: c.failed,
    delivered,
    expected,
    losses: expected - delivered + c.failed + (c.established - c.subscribed),
    perBroadcast,
    scrape,
    noise
  }
}
