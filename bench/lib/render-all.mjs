// bench/RESULTS.md, whole, from raw data: the newest raw file of each bench in
// bench/results/ (or the files given), one section per bench in the fixed
// order of SECTIONS, each naming its raw file. A bench without a raw file gets
// its heading, what it measures and the command that measures it: no figure
// is ever written by hand. Used by bench/render.mjs and by every bench after
// it wrote its raw file (bench/lib/results-hook.mjs).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readJsonLines } from './common.mjs'
import { RUN_HEADING, renderRun } from './report.mjs'
import { METRICS_OVERHEAD_HEADING, renderMetricsOverhead } from './metrics-overhead.mjs'
import { CHANNELS_HEADING, renderChannels } from './channels-report.mjs'
import { HISTORY_HEADING, renderHistory } from './history-report.mjs'
import { CLUSTER_HEADING, renderCluster } from './cluster-report.mjs'
import { PRESENCE_HEADING, renderPresence } from './presence-report.mjs'
import { CHAOS_HEADING, renderChaos } from './chaos-report.mjs'
import { SERIALIZERS_HEADING, renderSerializers } from '../serializers.mjs'
import { WORKERS_HEADING, renderWorkers } from '../workers.mjs'
import { PROFILE_HEADING, renderProfile } from './profile-report.mjs'
import { renderHeadline, withHeadline } from './headline.mjs'
import { REDIS_THROUGHPUT_HEADING, REDIS_THROUGHPUT_ONE_MEMBER_HEADING, renderRedisThroughput } from './redis-throughput-report.mjs'

const bench = dirname(dirname(fileURLToPath(import.meta.url)))
export const ROOT = dirname(bench)
export const RESULTS_FILE = join(bench, 'RESULTS.md')
export const RESULTS_DIR = join(bench, 'results')
export const README_FILE = join(ROOT, 'README.md')

/**
 * In the order RESULTS.md shows them. `bench` is the raw files' name prefix:
 * bench/results/<bench>-<mode>-<date>.jsonl. A new bench adds one entry here
 * (and its render function, pure: raw lines in, markdown out).
 */
export const SECTIONS = [
  {
    bench: 'run',
    heading: RUN_HEADING,
    render: renderRun,
    about: 'Connect rate and CPU, memory per idle subscribed connection, fan-out latency and CPU per delivery, echo CPU per round trip: raw ws, @fastify/websocket, Socket.IO and fastify-realtime interleaved, with the targets of issue 5.',
    command: 'npm run build && node bench/run.mjs --quick'
  },
  {
    bench: 'profile',
    heading: PROFILE_HEADING,
    render: renderProfile,
    about: "CPU profiles of the server over connect, echo and fan-out, split by layer (the plugin's code, Fastify, ws, Node, native code and system calls, GC): where the time goes, for each target.",
    command: 'npm run build && node bench/profile.mjs'
  },
  {
    bench: 'metrics-overhead',
    heading: METRICS_OVERHEAD_HEADING,
    render: renderMetricsOverhead,
    about: 'Server CPU per delivery (fan-out) and per round trip (echo) of the plugin with metrics off and on, side by side, and the cost of one scrape.',
    command: 'npm run build && node bench/run.mjs --quick --metrics-overhead'
  },
  {
    bench: 'channels',
    heading: CHANNELS_HEADING,
    render: renderChannels,
    about: 'Publishes to 10,000 small channels beside Socket.IO rooms and a hand-rolled ws hub, and the single-event fan-out of this build beside the fork point.',
    command: 'npm run build && node bench/channels.mjs --quick'
  },
  {
    bench: 'history',
    heading: HISTORY_HEADING,
    render: renderHistory,
    about: 'What channel history costs a publish in memory and on Redis, and how long recovering 300 missed messages takes.',
    command: 'npm run build && node bench/history.mjs --quick'
  },
  {
    bench: 'cluster',
    heading: CLUSTER_HEADING,
    render: renderCluster,
    about: 'Latency and throughput of sendToUser() in one process against node A -> Redis -> node B.',
    command: 'npm run build && node bench/cluster.mjs --write'
  },
  {
    bench: 'redis-throughput',
    heading: REDIS_THROUGHPUT_HEADING,
    render: renderRedisThroughput,
    about: 'Deliveries per second across Redis to 20 members of a channel on another node, with publish batching off and on and ioredis auto-pipelining, beside one process.',
    command: 'npm run build && node bench/redis-throughput.mjs --quick'
  },
  {
    bench: 'redis-throughput-1-member',
    heading: REDIS_THROUGHPUT_ONE_MEMBER_HEADING,
    render: renderRedisThroughput,
    about: 'The same with one member per channel: every message is one delivery, so the rate is the Redis hop\'s.',
    command: 'npm run build && node bench/redis-throughput.mjs --quick --members=1'
  },
  {
    bench: 'presence',
    heading: PRESENCE_HEADING,
    render: renderPresence,
    about: 'Connect/disconnect cycles per second and CPU per cycle with presence off and on, in one process and on two nodes with Redis.',
    command: 'npm run build && node bench/presence.mjs --quick'
  },
  {
    bench: 'chaos',
    heading: CHAOS_HEADING,
    render: renderChaos,
    about: 'Exactly-once, in-order delivery through a proxy that cuts every connection every 2 s, with the delays it causes.',
    command: 'npm run build && node bench/chaos.mjs --seconds=60'
  },
  {
    bench: 'workers',
    heading: WORKERS_HEADING,
    render: renderWorkers,
    about: 'Idle subscribed connections over node:cluster workers past one process\'s file limit (server RSS per connection, one broadcast to all), and fan-out to 20,000 connections with 1 and 2 workers.',
    command: 'npm run build && node bench/workers.mjs --write'
  },
  {
    bench: 'serializers',
    heading: SERIALIZERS_HEADING,
    // every session is kept and pooled (each compares the same builds, round by round), not only the newest
    pooled: true,
    renderFiles: (files) => {
      const notes = join(RESULTS_DIR, 'serializers-notes.md')
      return renderSerializers(files.map((file) => JSON.parse(readFileSync(file, 'utf8'))), existsSync(notes) ? readFileSync(notes, 'utf8').trim() : undefined)
    },
    about: 'Server CPU per echo round trip and per fan-out delivery of builds of the plugin against the envelope floor (raw ws sending the seed\'s full envelope).',
    command: 'npm run build && node bench/serializers.mjs --builds=before:<a copy of an older dist>,after:dist'
  }
]

/** <bench>-<mode>-<stamp>.jsonl, and the first chaos file's chaos-<stamp>.json. */
const NAME = /^(.+?)-(?:(full|quick|\d+s)-)?(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)\.jsonl?$/

export function parseRawName (file) {
  const m = NAME.exec(basename(file))
  return m === null ? undefined : { bench: m[1], mode: m[2], stamp: m[3] }
}

/** The raw lines of a file; the first chaos run wrote one JSON object, read as a header and a result line. */
export function readRaw (file) {
  if (file.endsWith('.jsonl')) return readJsonLines(file)
  const { result, kind, ...meta } = JSON.parse(readFileSync(file, 'utf8'))
  return [{ kind: 'meta', bench: kind, ...meta }, ...(result ? [{ kind: 'result', ...result }] : [])]
}

/** Every raw file of one bench in bench/results/, oldest first. */
export function allRawFiles (bench, dir = RESULTS_DIR) {
  return readdirSync(dir).sort().filter((name) => parseRawName(name)?.bench === bench).map((name) => join(dir, name))
}

/** bench -> the newest raw file of it in bench/results/ (by the date in its name). */
export function newestRawFiles (dir = RESULTS_DIR) {
  const newest = new Map()
  for (const name of readdirSync(dir).sort()) {
    const parsed = parseRawName(name)
    if (parsed === undefined) continue
    const prev = newest.get(parsed.bench)
    if (prev === undefined || parsed.stamp >= prev.stamp) newest.set(parsed.bench, { ...parsed, file: join(dir, name) })
  }
  return new Map([...newest].map(([k, v]) => [k, v.file]))
}

const rel = (file) => file.startsWith(ROOT + '/') ? file.slice(ROOT.length + 1) : file

/** README.md with its benchmarks block rendered from the same raw files as RESULTS.md (bench/lib/headline.mjs). */
export function renderReadme (files = []) {
  const chosen = newestRawFiles()
  for (const file of files) {
    const parsed = parseRawName(file)
    if (parsed !== undefined) chosen.set(parsed.bench, file)
  }
  const raw = new Map([...chosen].map(([bench, file]) => [bench, { file: rel(file), lines: readRaw(file) }]))
  return withHeadline(readFileSync(README_FILE, 'utf8'), renderHeadline(raw))
}

/**
 * The whole of RESULTS.md. `files` (optional) names raw files that replace
 * the newest of their bench. Returns the markdown and the files it used.
 */
export function renderResults (files = []) {
  const chosen = newestRawFiles()
  for (const file of files) {
    const parsed = parseRawName(file)
    if (parsed === undefined || !SECTIONS.some((s) => s.bench === parsed.bench)) throw new Error(`${file}: not a raw file of a known bench (bench/results/<bench>-<mode>-<date>.jsonl)`)
    chosen.set(parsed.bench, file)
  }
  const used = []
  const out = [
    '# Benchmark results',
    '',
    'Rendered by `node bench/render.mjs` from the raw files in `bench/results/`, the newest of each bench; every section names its raw file. Do not edit by hand: `node bench/render.mjs --check` (run by `test/bench-render.test.ts`) fails when this file and the raw data disagree. Notes without raw data behind them are in [results-notes.md](results-notes.md); how to run each bench is in [README.md](README.md).',
    ''
  ]
  for (const section of SECTIONS) {
    if (section.pooled) {
      const files = allRawFiles(section.bench)
      if (files.length === 0) {
        out.push(section.heading, '', `No raw data in \`bench/results/\` yet. ${section.about} Measure it with \`${section.command}\`.`, '')
        continue
      }
      used.push(...files)
      const [heading, ...rest] = section.renderFiles(files).replace(/\n*$/, '').split('\n')
      out.push(heading, '', `Raw data: ${files.map((file) => `\`${rel(file)}\``).join(', ')}.`, ...rest, '')
      continue
    }
    const file = chosen.get(section.bench)
    if (file === undefined) {
      out.push(section.heading, '', `No raw data in \`bench/results/\` yet. ${section.about} Measure it with \`${section.command}\`.`, '')
      continue
    }
    used.push(file)
    const [heading, ...rest] = section.render(readRaw(file)).replace(/\n*$/, '').split('\n')
    out.push(heading, '', `Raw data: \`${rel(file)}\`.`, ...rest, '')
  }
  return { markdown: out.join('\n'), used }
}
