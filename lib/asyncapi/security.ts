import { SUBPROTOCOL } from '../handshake-token.js'
import type { AsyncApiSecurityScheme, AsyncApiServer, JsonSchema } from './types.js'

const TOKEN_RULES = 'The token is a JWT that verifies with the configured key and pinned algorithm, unexpired, with a `sub` (the user id). ' +
  'A refused handshake is an HTTP status with a JSON body `{ statusCode, code, error, message }` (401 bad or missing token, 403 origin, 429 limits, 503 full or closing); ' +
  'a browser never sees it (only a 1006 close), so a plain GET on the same URL answers the same status, or 426 when the handshake would be accepted.'

/** The three places the handshake reads a token from (handshake-token.ts), in the order it looks. */
export function securitySchemes (endpointPath: string): Record<string, AsyncApiSecurityScheme> {
  return {
    tokenInPath: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: `The JWT as the last path segment: \`GET ${endpointPath}/<jwt>\` (the seed's form, kept for compatibility; redacted from every log line).`,
      'x-fastify-realtime-token-in': 'path'
    },
    bearerSubprotocol: {
      type: 'httpApiKey',
      in: 'header',
      name: 'Sec-WebSocket-Protocol',
      description: `For browsers (the one header a browser can set): offer the subprotocols \`${SUBPROTOCOL}\` and \`bearer.<jwt>\`. The server answers \`${SUBPROTOCOL}\` and never echoes the token.`,
      'x-fastify-realtime-token-in': 'subprotocol'
    },
    authorizationHeader: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: `For servers and scripts: \`Authorization: Bearer <jwt>\` on the upgrade request.`,
      'x-fastify-realtime-token-in': 'header'
    }
  }
}

/** The headers a client may send with the upgrade (the WebSockets channel binding). */
export function handshakeHeaders (): JsonSchema {
  return {
    type: 'object',
    properties: {
      'Sec-WebSocket-Protocol': { type: 'string', description: `\`${SUBPROTOCOL}\`, and \`bearer.<jwt>\` to carry the token` },
      Authorization: { type: 'string', pattern: '^[Bb][Ee][Aa][Rr][Ee][Rr] ', description: '`Bearer <jwt>`' },
      Origin: { type: 'string', description: 'Checked against allowedOrigins when it is set' }
    }
  }
}

/** Where the app listens is the host's to say: one server with a `host` variable, secured by the three schemes. */
export function realtimeServer (schemeNames: readonly string[]): AsyncApiServer {
  return {
    host: '{host}',
    protocol: 'ws',
    description: `The host app (wss behind TLS). ${TOKEN_RULES}`,
    variables: { host: { default: 'localhost:3000', description: 'Host and port the app listens on' } },
    security: schemeNames.map(name => ({ $ref: `#/components/securitySchemes/${name}` }))
  }
}
