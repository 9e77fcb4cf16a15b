import t from 'tap'
import { startServer } from '../helpers/server.js'
import { presenceConformance } from './conformance.js'

presenceConformance(t, {
  name: 'memory',
  async start (t, count, realtime) {
    const server = await startServer(t, { realtime })
    return Array.from({ length: count }, () => server)
  }
})
