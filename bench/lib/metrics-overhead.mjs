// The "## Metrics overhead" section of RESULTS.md: the plugin with metrics
// off and on, run side by side in the same rounds, compared on the server's
// CPU per delivery (fan-out) and per round trip (echo).
import { median } from './common.mjs'
import { fromLines, pairedRatio } from './report.mjs'

export const METRICS_OVERHEAD_HEADING = '## Metrics overhead'
const OFF = 'fastify-realtime'
const ON = 'fastify-realtime+metrics'
/** The goal of issue 13: metrics cost under 3 % of the server's CPU per delivery. */
const GOAL = 1.03

const FIGURES = {
  fanout: { key: 'cpuPerDeliveryUs', label: 'fan-out, server CPU µs/delivery' },
  echo: { key: 'cpuPerRoundTripUs', label: 'echo, server CPU µs/round trip' }
}

function fmt (v, digits) {
  return Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–'
}

function percent (ratio) {
  if (!Number.isFinite(ratio)) return '–'
  const p = (ratio - 1) * 100
  return `${p >= 0 ? '+' : ''}${p.toFixed(1)} %`
}

/** The section, from the raw lines of `bench/run.mjs --metrics-overhead` alone. */
export function renderMetricsOverhead (raw) {
  const { mode, config, machine, summary, runs } = fromLines(raw)
  const lines = [METRICS_OVERHEAD_HEADING, '']
  lines.push(`\`node bench/run.mjs --${mode} --metrics-overhead\` on ${machine.date.slice(0, 10)} (${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, loadavg at start ${machine.loadavgAtStart.join(' ')}; commit ${machine.commit}): ${config.rounds} round(s), \`${OFF}\` (metrics off) and \`${ON}\` (\`metrics: true\`, the registry scraped every 15 s, as Prometheus would) interleaved in every round. Cells are medians over the calm runs (all runs when one side had no calm run, marked *disturbed*); "paired" is the median over rounds of on / off within one round. Goal: metrics add under 3 % of server CPU per delivery.`)
  lines.push('')
  lines.push('| scenario | N | off | on | on / off (medians) | paired | overhead (paired) | goal < 3 % | on / off by round | runs off / on |')
  lines.push('|---|---:|---:|---:|---:|---:|---:|:---:|---:|---:|')
  for (const g of summary.groups) {
    const figure = FIGURES[g.scenario]
    if (figure === undefined) continue
    const off = g.rows[OFF]
    const on = g.rows[ON]
    if (off === undefined || on === undefined) continue
    const ratio = on.medians[figure.key] / off.medians[figure.key]
    const paired = pairedRatio(g, ON, OFF, figure.key)
    const met = Number.isFinite(paired) ? (paired < GOAL ? 'yes' : '**no**') : '–'
    const byRound = [...on.perRound].map(([round, r]) => fmt(r.metrics[figure.key] / off.perRound.get(round)?.metrics[figure.key], 3)).join(', ')
    lines.push(`| ${figure.label}${g.isDisturbed ? ' (disturbed)' : ''} | ${g.n.toLocaleString('en-US')} | ${fmt(off.medians[figure.key], 2)} | ${fmt(on.medians[figure.key], 2)} | ${fmt(ratio, 3)} | ${fmt(paired, 3)} | ${percent(paired)} | ${met} | ${byRound} | ${off.used}/${off.runs} / ${on.used}/${on.runs} |`)
  }
  lines.push('')
  const scrapes = runs.filter((r) => r.ok && r.scrape !== undefined)
  if (scrapes.length > 0) {
    lines.push('One scrape (`registry.metrics()`), timed by the metrics target after its fan-out phase, with N subscribed connections open: a cost per scrape, not per delivery.')
    lines.push('')
    lines.push('| N | server CPU µs per scrape | wall ms | exposition bytes |')
    lines.push('|---:|---:|---:|---:|')
    for (const n of [...new Set(scrapes.map((r) => r.n))].sort((a, b) => a - b)) {
      const at = scrapes.filter((r) => r.n === n)
      lines.push(`| ${n.toLocaleString('en-US')} | ${fmt(median(at.map((r) => r.scrape.scrapeCpuUs)), 0)} | ${fmt(median(at.map((r) => r.scrape.scrapeMs)), 2)} | ${fmt(median(at.map((r) => r.scrape.scrapeBytes)), 0)} |`)
    }
    lines.push('')
  }
  const others = runs.filter((r) => r.ok).map((r) => r.noise.others)
  const disturbed = runs.filter((r) => r.ok && r.noise.disturbed).length
  lines.push(`The rest of the machine used a median ${fmt(median(others) * 100, 0)} % of all cores during the measured phases, and ${disturbed} of ${runs.length} runs were disturbed (over ${Math.round(summary.noiseThreshold * 100)} %). ${disturbed > runs.length / 2 ? 'Differences of a few per cent are within the noise of such a machine' : 'Even on a calm machine, read differences of a few per cent against the spread'} (the by-round column shows how far one round's pair strays from another's; echo runs the same code with metrics on and off, only a scrape every 15 s differs, so its spread is the noise itself)${disturbed > runs.length / 2 ? ': run again on a calm machine before drawing a finer line' : ''}. What metrics add on these paths: fan-out, one histogram observation per broadcast (not per socket); echo, one plain tally increment per message (always on, metrics or not) and nothing else; the scrape reads the node's counters.`)
  lines.push('')
  return lines.join('\n')
}
