import type { FastifyInstance } from 'fastify'
import { startServer, type StartOptions, type TestServer } from '../helpers/server.js'
import type { Teardown } from '../helpers/teardown.js'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** One scrape, parsed from the Prometheus text exposition format. */
export class Scrape {
  readonly text: string
  readonly samples: Sample[] = []
  /** Metric family name -> its # TYPE. */
  readonly types = new Map<string, string>()

  constructor (text: string) {
    this.text = text
    for (const line of text.split('\n')) {
      if (line.startsWith('# TYPE ')) {
        const [name, type] = line.slice(7).split(' ')
        if (name !== undefined && type !== undefined) this.types.set(name, type)
        continue
      }
      if (line === '' || line.startsWith('#')) continue
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
      if (match === null) throw new Error(`not an exposition line: ${line}`)
      const labels: Record<string, string> = {}
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = pair[2] as string
      this.samples.push({ name: match[1] as string, labels, value: Number(match[3]) })
    }
  }

  /** The sample's value (0 when the sample is absent: a labelled counter before its first event). */
  value (name: string, labels: Record<string, string> = {}): number {
    const sample = this.samples.find(s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    return sample?.value ?? 0
  }

  /** Every value `label` takes in `name`'s samples. */
  labelValues (name: string, label: string): string[] {
    return [...new Set(this.samples.filter(s => s.name === name).map(s => s.labels[label]).filter((v): v is string => v !== undefined))].sort()
  }

  has (sampleName: string): boolean {
    return this.samples.some(s => s.name === sampleName)
  }
}

/** What moved between two scrapes, per sample. */
export function delta (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}): number {
  return after.value(name, labels) - before.value(name, labels)
}

export interface MetricsServer extends TestServer {
  /** GET /metrics over HTTP, parsed. */
  scrape (): Promise<Scrape>
}

/** Serves the plugin's registry at GET /metrics, the way a host does. */
export function serveMetrics (app: FastifyInstance): void {
  app.get('/metrics', async (_request, reply) => {
    const registry = app.realtime.metricsRegistry
    if (registry === undefined) return reply.code(404).send({ message: 'metrics are off' })
    reply.type(registry.contentType)
    return registry.metrics()
  })
}

/** A real server with metrics on and GET /metrics, scraped over HTTP. */
export async function startMetricsServer (t: Teardown, options: StartOptions = {}): Promise<MetricsServer> {
  const server = await startServer(t, {
    ...options,
    realtime: { metrics: true, ...options.realtime },
    before: async (app) => {
      serveMetrics(app)
      await options.before?.(app)
    }
  })
  return { ...server, scrape: () => scrapeUrl(`http://127.0.0.1:${server.port}/metrics`) }
}

export async function scrapeUrl (url: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await fetch(url, { headers })
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`)
  const type = response.headers.get('content-type') ?? ''
  if (!type.startsWith('text/plain')) throw new Error(`GET ${url}: content-type ${type}`)
  return new Scrape(await response.text())
}

/** Scrapes until `check` holds: a server-side close is counted when its socket closes, after the client saw it. */
export async function scrapeUntil (server: MetricsServer, check: (scrape: Scrape) => boolean, what: string, timeoutMs = 5000): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const scrape = await server.scrape()
    if (check(scrape)) return scrape
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}
