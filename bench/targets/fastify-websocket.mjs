// A hand-rolled @fastify/websocket route: the JWT is checked in a
// preValidation hook (so a bad token gets a real 401), then the same hub.
import Fastify from 'fastify'
import websocket from '@fastify/websocket'
import { createJwtVerifier } from '../lib/common.mjs'
import { createHub } from '../lib/hand-rolled.mjs'
import { runTarget, HOST, portFromEnv } from '../lib/target.mjs'

const verify = createJwtVerifier()
const hub = createHub()
// a JWT is longer than Fastify's default maxParamLength (100): answered 414 otherwise
const app = Fastify({ logger: false, maxParamLength: 4096 })
await app.register(websocket)

app.get('/ws/:token', {
  websocket: true,
  preValidation: async (request, reply) => {
    try {
      const claims = verify(request.params.token)
      if (typeof claims.sub !== 'string') throw new Error('no sub')
      request.userId = claims.sub
    } catch {
      return reply.code(401).send({ error: 'Unauthorized' })
    }
  }
}, (socket, request) => hub.attach(socket, request.userId))

await app.listen({ port: portFromEnv(), host: HOST })
runTarget('fastify-websocket', { port: app.server.address().port, broadcast: hub.broadcast, publish: hub.publish, stats: hub.stats })
