// fastify-realtime with its defaults, JWT on, limits raised so the load is
// not refused. Loaded from the build in dist/ (npm run build), or from the
// build REALTIME_DIST names (a baseline built from another commit, see
// bench/channels.mjs). REALTIME_CHANNELS=0 leaves the channel namespace out
// (a build from before channels refuses the option).
import Fastify from 'fastify'
import { createRequire } from 'node:module'
import { SECRET } from '../lib/common.mjs'
import { CHANNEL_NAMESPACE } from '../lib/channel-plan.mjs'
import { runTarget, HOST, portFromEnv } from '../lib/target.mjs'

const require = createRequire(import.meta.url)
const mod = require(process.env.REALTIME_DIST ?? '../../dist/index.js')
const realtime = mod.default ?? mod.fastifyRealtime ?? mod
const hasChannels = process.env.REALTIME_CHANNELS !== '0'

const app = Fastify({ logger: false })
await app.register(realtime, {
  jwt: { secret: SECRET },
  maxConnections: 100_000,
  maxConnectionsPerUser: 100_000,
  rateLimit: { max: 1e9, windowMs: 60_000 },
  // the per-IP handshake limit stays on (it is a default, and part of the cost), raised
  handshakeRateLimit: { max: 1e9, timeWindowMs: 60_000 },
  // an open namespace: what is measured is delivery, not an authorize of the host's
  ...(hasChannels ? { channels: { [CHANNEL_NAMESPACE]: {} } } : {})
})
await app.listen({ port: portFromEnv(), host: HOST })
runTarget('fastify-realtime', {
  port: app.server.address().port,
  broadcast: (event, data) => app.realtime.broadcastToSubscribers(event, { type: event, data }),
  ...(hasChannels ? { publish: (channel, type, data) => app.realtime.publish(channel, { type, data }) } : {}),
  stats: () => app.realtime.stats()
})
