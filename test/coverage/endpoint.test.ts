import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { startServer } from '../helpers/server.js'

// The endpoint route's req log serializer keeps the token out of the logs.
// It is handed whatever a log line carries under `req`: fastify's request,
// or a host hook's partial object, without url or socket.

interface ReqLine { msg: string, req?: { method?: string, url?: string, remotePort?: number } }

const lines = (logs: string[], msg: string): ReqLine[] => logs.map(line => JSON.parse(line) as ReqLine).filter(line => line.msg === msg)

t.test('a host log line with a partial req on the realtime route: url "" and no remotePort, no crash', async (t) => {
  const before = (app: FastifyInstance): void => {
    app.addHook('onRequest', async (request) => {
      request.log.info({ req: { method: 'GET' } }, 'host partial req')
      request.log.info({ req: request }, 'host full req')
    })
  }
  const server = await startServer(t, { before })
  const client = await server.connect('a')
  await client.close()
  const [partial] = lines(server.logs, 'host partial req').filter(line => line.req?.url !== undefined && line.req.url === '')
  t.ok(partial, 'the realtime route serialized the partial req')
  t.same(partial?.req, { method: 'GET', url: '' }, 'no url: ""; no socket: no remotePort')
  const full = lines(server.logs, 'host full req').find(line => line.req?.url?.startsWith('/ws') === true)
  t.equal(typeof full?.req?.remotePort, 'number', 'the real request: its port')
  t.notOk(full?.req?.url?.includes(server.token('a')), 'the token is redacted')
})
