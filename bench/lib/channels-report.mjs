// The "## Targeted delivery to channels" section of bench/RESULTS.md, rendered
// from the raw lines of bench/channels.mjs alone (header, then one line per run).
import { deliveriesPerPass } from './channel-plan.mjs'
import { fmt, groupTable, summarize } from './report.mjs'

export const CHANNELS_HEADING = '## Targeted delivery to channels'
export const CHANNEL_TARGETS = ['ws', 'socketio', 'fastify-realtime']
export const BASELINE = 'fastify-realtime@base'

/** The section of bench/channels.mjs, from its raw lines alone. */
export function renderChannels (raw) {
  const meta = raw.find((l) => l.kind === 'meta')
  const { mode, config, machine, noiseThreshold } = meta
  const baseline = meta.baseline ?? undefined
  const runs = raw.filter((l) => l.kind === 'run').map(({ kind, ...r }) => r)
  const fanoutTargets = ['ws', ...(baseline === undefined ? [] : [BASELINE]), 'fastify-realtime']
  const summary = summarize(runs, [...new Set([...CHANNEL_TARGETS, ...fanoutTargets])], { noiseThreshold })
  const channelGroup = summary.groups.find((g) => g.scenario === 'channels')
  const fanoutGroup = summary.groups.find((g) => g.scenario === 'fanout')
  const lines = [CHANNELS_HEADING, '']
  lines.push(`Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${machine.date}; loadavg at start ${machine.loadavgAtStart.join(' ')}${machine.loadavgAtEnd ? `, at the end ${machine.loadavgAtEnd.join(' ')}` : ''}; fastify-realtime at commit ${machine.commit}. \`node bench/channels.mjs${mode === 'full' ? '' : ` --${mode}`}\`: ${config.rounds} round(s), targets interleaved in every round; raw runs in \`${machine.rawFile}\`.`)
  lines.push('')
  if (channelGroup !== undefined) {
    const perPass = deliveriesPerPass(config).toLocaleString('en-US')
    lines.push(`**${config.channels.toLocaleString('en-US')} channels of 1-3 subscribers** (${perPass} subscriptions over ${config.connections.toLocaleString('en-US')} connections, about ${Math.round(deliveriesPerPass(config) / config.connections)} channels each). Each of ${config.passes} passes publishes one ${config.bytes}-byte message to every channel, as fast as the server takes them (yielding to its event loop every 500 publishes). *publishes/s*: the publishes of a pass over the time from its first call to the last subscriber's receipt (median over passes). *latency*: a publish's last receipt minus the time right before its call, over every publish of a run, so it includes the wait behind the publishes before it in the pass. Socket.IO: one room per channel, \`io.to(channel).emit\`; ws: a hand-rolled Map<channel, Set<socket>>; fastify-realtime: \`app.realtime.publish(channel, message)\` to an open namespace (no authorize).`)
    lines.push('')
    lines.push(...groupTable(channelGroup, CHANNEL_TARGETS))
    const s = channelGroup.rows.socketio
    const p = channelGroup.rows['fastify-realtime']
    if (s !== undefined && p !== undefined) {
      lines.push(`Against Socket.IO rooms: fastify-realtime publishes ${fmt(p.medians.publishesPerSec / s.medians.publishesPerSec, 2)}× as many per second, at ${fmt(p.medians.latencyP99Ms / s.medians.latencyP99Ms, 2)}× its p99 latency and ${fmt(p.medians.cpuPerPublishUs / s.medians.cpuPerPublishUs, 2)}× its server CPU per publish.`)
      lines.push('')
    }
  }
  if (fanoutGroup !== undefined) {
    const targets = ['ws', ...(baseline === undefined ? [] : [BASELINE]), 'fastify-realtime']
    lines.push(`**Single-event fan-out, N = ${fanoutGroup.n.toLocaleString('en-US')}**: ${config.broadcasts} broadcasts of 1 KiB to every client, one at a time, as in \`bench/run.mjs\`. ${baseline === undefined ? 'No baseline build was measured (--no-baseline).' : `\`${BASELINE}\` is the plugin built from ${baseline.ref} (${baseline.sha}); \`fastify-realtime\` is this build, with a channel namespace declared.`}`)
    lines.push('')
    lines.push(...groupTable(fanoutGroup, targets))
    const b = baseline === undefined ? undefined : fanoutGroup.rows[BASELINE]
    const p = fanoutGroup.rows['fastify-realtime']
    if (b !== undefined && p !== undefined) {
      lines.push(`This build against ${baseline.ref}: last-receipt p50 ×${fmt(p.medians.lastP50Ms / b.medians.lastP50Ms, 2)}, p99 ×${fmt(p.medians.lastP99Ms / b.medians.lastP99Ms, 2)}, server CPU per delivery ×${fmt(p.medians.cpuPerDeliveryUs / b.medians.cpuPerDeliveryUs, 2)} (1.00 = no change).`)
      lines.push('')
    }
  }
  const disturbed = runs.filter((r) => r.ok && r.noise.disturbed)
  const failed = runs.filter((r) => !r.ok)
  lines.push(`${runs.length} runs, ${disturbed.length} disturbed (the rest of the machine used more than ${Math.round(noiseThreshold * 100)} % of all cores during the measured phase)${failed.length > 0 ? `, ${failed.length} failed (${failed.map((r) => `${r.scenario} ${r.target} round ${r.round}: ${r.error.split('\n')[0]}`).join('; ')})` : ''}. ${machine.note ?? ''}`.trimEnd())
  lines.push('')
  return lines.join('\n')
}
