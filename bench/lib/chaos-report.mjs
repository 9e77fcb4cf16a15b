// The "## Chaos: recovery across cut connections" section of bench/RESULTS.md,
// rendered from the raw lines of bench/chaos.mjs alone.
export const CHAOS_HEADING = '## Chaos: recovery across cut connections'

function ms (value) {
  return Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a'
}

/**
 * The section, from the raw lines alone: a `meta` header (machine, seconds,
 * passed, failures) and one `result` line with the test's numbers (none when
 * the test died before its end).
 */
export function renderChaos (raw) {
  const { machine, passed, failures, seconds } = raw.find((l) => l.kind === 'meta')
  const found = raw.find((l) => l.kind === 'result')
  const result = found === undefined ? undefined : { ...found, kind: undefined }
  const lines = [CHAOS_HEADING, '']
  lines.push(`${machine.date.slice(0, 10)}, commit ${machine.commit}, ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ` +
    `load average at start ${machine.loadavgAtStart.join(' ')}${machine.loadavgAtEnd ? `, at the end ${machine.loadavgAtEnd.join(' ')}` : ''}${machine.note === '' ? '' : `; ${machine.note}`}.`)
  lines.push('')
  lines.push(`\`node bench/chaos.mjs --seconds=${seconds}\` runs \`test/chaos/recovery.test.ts\`: a TCP proxy between the client and two nodes ` +
    '(Redis adapter, in one process) resets every connection every 2 s, one cut in three half-opening it instead (left open, nothing forwarded: ' +
    'the client notices by a missing pong), while the nodes publish 50 messages/s to a channel with history and 50/s to the client\'s inbox. ' +
    'Delay: from publish to the app\'s listener, over every message (those published during an outage wait for the reconnect).')
  lines.push('')
  if (result === undefined) {
    lines.push(`**The run produced no result** (the test failed before its end): ${failures.slice(0, 5).join('; ') || 'see the output'}.`)
    return lines.join('\n') + '\n'
  }
  const total = result.published.channel + result.published.inbox
  lines.push('| | channel | inbox |')
  lines.push('|---|---:|---:|')
  lines.push(`| published | ${result.published.channel} | ${result.published.inbox} |`)
  lines.push(`| delivered to the app | ${result.delivered.channel} | ${result.delivered.inbox} |`)
  lines.push('')
  lines.push('| measure | value |')
  lines.push('|---|---:|')
  lines.push(`| delivered exactly once, in order | ${passed ? 'yes' : '**no**'} (${(result.deliveredShare * 100).toFixed(1)} % of ${total}) |`)
  lines.push(`| duplicates delivered | ${result.duplicates} |`)
  lines.push(`| gaps reported (not recovered) | ${result.gaps} |`)
  lines.push(`| connections through the proxy | ${result.proxy.connections} (${result.proxy.resets} reset, ${result.proxy.halfOpens} half-open) |`)
  lines.push(`| recoveries (streams replayed) | ${result.recoveries}, ${result.missedReplayed} messages |`)
  lines.push(`| delay p50 | ${ms(result.delayMs.p50)} |`)
  lines.push(`| delay p99 | ${ms(result.delayMs.p99)} |`)
  lines.push(`| delay max | ${ms(result.delayMs.max)} |`)
  if (!passed) {
    lines.push('')
    lines.push(`Failed assertions: ${failures.slice(0, 8).join('; ')}`)
  }
  return lines.join('\n') + '\n'
}
