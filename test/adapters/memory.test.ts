// The adapter conformance suite against the memory adapter (one node: the
// process is the whole server) and against the test kit's in-process bus
// (two nodes in one process, what cluster() gives a host's tests).
import t from 'tap'
import Fastify from 'fastify'
import realtime from '../../lib/index.js'
import { cluster } from '../../lib/testing/index.js'
import { adapterConformance } from './conformance.js'

adapterConformance(t, {
  name: 'memory',
  nodes: 1,
  async start (t, options) {
    // build() ignores the kit's adapter: the plugin's default, the memory adapter
    const nodes = await cluster(1, {
      build: async ({ secret }) => {
        const app = Fastify()
        await app.register(realtime, { jwt: secret, ...options })
        return app
      }
    })
    t.teardown(() => nodes.close())
    return nodes
  }
})

adapterConformance(t, {
  name: 'in-process bus',
  nodes: 2,
  async start (t, options) {
    const nodes = await cluster(2, options === undefined ? {} : { realtime: options })
    t.teardown(() => nodes.close())
    return nodes
  }
})
