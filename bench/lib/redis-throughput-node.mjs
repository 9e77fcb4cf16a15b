// The receiving node of bench/redis-throughput.mjs in a process of its own,
// as in a deployment: its CPU per delivery (the `cpu` control command) is
// one node's cost of a cross-node delivery, apart from the publishing node's.
// Env: SETTING (off | autopipeline | on), KEY_PREFIX, REDIS_URL.
import { serveControl, baseCommands, reply } from './common.mjs'
import { startRedisThroughputNode } from './redis-throughput-nodes.mjs'

const { app, close } = await startRedisThroughputNode(process.env.SETTING, process.env.KEY_PREFIX)
serveControl(baseCommands({
  stop: async () => {
    await close()
    return {}
  }
}))
reply({ ready: true, port: app.server.address().port, pid: process.pid })
