import type { FastifyRequest } from 'fastify'
import { BEARER_PROTOCOL_PREFIX, SUBPROTOCOL } from './protocol/constants.js'

export { SUBPROTOCOL }

/**
 * Where a token can be: the seed's path (`/ws/<token>`), a `bearer.<jwt>`
 * subprotocol (the one header a browser can set), or `Authorization: Bearer`.
 */
export function extractToken (request: FastifyRequest): string | undefined {
  const params = request.params as Record<string, string | undefined> | undefined
  const fromPath = params?.['*']
  if (fromPath !== undefined && fromPath.length > 0) return fromPath.includes('/') ? undefined : fromPath
  const protocols = request.headers['sec-websocket-protocol']
  if (typeof protocols === 'string') {
    for (const offered of protocols.split(',')) {
      const trimmed = offered.trim()
      if (trimmed.startsWith(BEARER_PROTOCOL_PREFIX)) return trimmed.slice(BEARER_PROTOCOL_PREFIX.length)
    }
  }
  const authorization = request.headers.authorization
  if (typeof authorization === 'string' && authorization.slice(0, 7).toLowerCase() === 'bearer ') {
    return authorization.slice(7).trim()
  }
  return undefined
}

/**
 * ws answers with one of the subprotocols the client offered: the host's
 * `handleProtocols`, or without one the first offered, which may be
 * `bearer.<jwt>`. Once the token is read, the offer goes without it, so no
 * set-up (whoever registered @fastify/websocket) can echo a token back.
 */
export function dropBearerProtocol (request: FastifyRequest): void {
  const headers = request.raw.headers
  const offered = headers['sec-websocket-protocol']
  if (typeof offered !== 'string' || !offered.includes(BEARER_PROTOCOL_PREFIX)) return
  const kept = offered.split(',').map(protocol => protocol.trim())
    .filter(protocol => protocol.length > 0 && !protocol.startsWith(BEARER_PROTOCOL_PREFIX))
  if (kept.length === 0) delete headers['sec-websocket-protocol']
  else headers['sec-websocket-protocol'] = kept.join(', ')
}

/** The seed's token-in-path leaks into logs through the URL: replace it. */
export function redactUrl (url: string, path: string): string {
  const start = url.indexOf(path + '/')
  if (start === -1) return url
  const tokenStart = start + path.length + 1
  const queryStart = url.indexOf('?', tokenStart)
  return url.slice(0, tokenStart) + '[REDACTED]' + (queryStart === -1 ? '' : url.slice(queryStart))
}
