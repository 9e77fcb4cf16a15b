// Raw `ws`: the floor for Node. Token in the path /ws/<jwt>, checked before
// the upgrade; the hand-rolled hub does the rest.
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'
import { createJwtVerifier } from '../lib/common.mjs'
import { createHub } from '../lib/hand-rolled.mjs'
import { runTarget, HOST, portFromEnv } from '../lib/target.mjs'

const verify = createJwtVerifier()
const hub = createHub()
const wss = new WebSocketServer({ noServer: true })
const server = createServer((req, res) => { res.writeHead(404).end() })

server.on('upgrade', (req, socket, head) => {
  let userId
  try {
    if (!req.url.startsWith('/ws/')) throw new Error('not found')
    const claims = verify(req.url.slice(4))
    if (typeof claims.sub !== 'string') throw new Error('no sub')
    userId = claims.sub
  } catch {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    return
  }
  wss.handleUpgrade(req, socket, head, (ws) => hub.attach(ws, userId))
})

server.listen(portFromEnv(), HOST, () => {
  runTarget('ws', { port: server.address().port, broadcast: hub.broadcast, publish: hub.publish, stats: hub.stats })
})
