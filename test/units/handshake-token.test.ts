// Where the handshake finds the token, and how it keeps it out of what the
// server echoes and logs: plain functions over a request's parts.
import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { extractToken, dropBearerProtocol, redactUrl, SUBPROTOCOL } from '../../lib/handshake-token.js'

/** The parts of a request these functions read. */
function request (parts: { path?: string, protocols?: string, authorization?: string }): FastifyRequest {
  const headers: Record<string, string> = {}
  if (parts.protocols !== undefined) headers['sec-websocket-protocol'] = parts.protocols
  if (parts.authorization !== undefined) headers.authorization = parts.authorization
  return { params: parts.path === undefined ? {} : { '*': parts.path }, headers, raw: { headers: { ...headers } } } as unknown as FastifyRequest
}

t.test('extractToken: the path first, then a bearer subprotocol, then Authorization', async (t) => {
  t.equal(extractToken(request({ path: 'from-path', protocols: 'bearer.from-protocol', authorization: 'Bearer from-header' })), 'from-path')
  t.equal(extractToken(request({ protocols: `${SUBPROTOCOL}, bearer.from-protocol`, authorization: 'Bearer from-header' })), 'from-protocol')
  t.equal(extractToken(request({ protocols: SUBPROTOCOL, authorization: 'Bearer from-header' })), 'from-header', 'no bearer offer: the header')
  t.equal(extractToken(request({ authorization: 'bEaReR   spaced  ' })), 'spaced', 'the scheme in any case, the token trimmed')
})

t.test('extractToken: nothing usable is undefined', async (t) => {
  t.equal(extractToken(request({})), undefined)
  t.equal(extractToken(request({ path: '' })), undefined, 'an empty path segment')
  t.equal(extractToken(request({ path: 'a/b', authorization: 'Bearer x' })), undefined, 'a path with a slash is no token, and the header is not tried')
  t.equal(extractToken(request({ authorization: 'Basic dXNlcjpwYXNz' })), undefined)
  t.equal(extractToken(request({ protocols: 'chat, superchat' })), undefined)
  t.equal(extractToken({ params: undefined, headers: {} } as unknown as FastifyRequest), undefined, 'a request without params')
})

t.test('dropBearerProtocol: the offer goes without the token, so no set-up can echo it', async (t) => {
  const both = request({ protocols: `bearer.secret-token, ${SUBPROTOCOL}` })
  dropBearerProtocol(both)
  t.equal(both.raw.headers['sec-websocket-protocol'], SUBPROTOCOL)

  const only = request({ protocols: 'bearer.secret-token' })
  dropBearerProtocol(only)
  t.notOk('sec-websocket-protocol' in only.raw.headers, 'the header goes when nothing else was offered')

  const none = request({ protocols: `${SUBPROTOCOL},  chat` })
  dropBearerProtocol(none)
  t.equal(none.raw.headers['sec-websocket-protocol'], `${SUBPROTOCOL},  chat`, 'no bearer offer: left as it came')

  const absent = request({})
  dropBearerProtocol(absent)
  t.same(absent.raw.headers, {})

  const empties = request({ protocols: 'a,, bearer.x ,b' })
  dropBearerProtocol(empties)
  t.equal(empties.raw.headers['sec-websocket-protocol'], 'a, b', 'empty entries dropped too')
})

t.test('redactUrl: the token after the path is replaced; the query string stays', async (t) => {
  t.equal(redactUrl('/ws/eyJ.secret.sig', '/ws'), '/ws/[REDACTED]')
  t.equal(redactUrl('/api/v1/ws/eyJ.secret.sig?inbox=1&x=2', '/api/v1/ws'), '/api/v1/ws/[REDACTED]?inbox=1&x=2')
  t.equal(redactUrl('/ws/?inbox=1', '/ws'), '/ws/[REDACTED]?inbox=1')
  t.equal(redactUrl('/ws', '/ws'), '/ws', 'no token in the path: unchanged')
  t.equal(redactUrl('/ws?token=x', '/ws'), '/ws?token=x', 'not the path form: unchanged')
  t.equal(redactUrl('/other/abc', '/ws'), '/other/abc')
})
