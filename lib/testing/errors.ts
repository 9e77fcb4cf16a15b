import createError from '@fastify/error'
import type { ServerEnvelope } from '../protocol/server-messages.js'
import type { CloseInfo } from './types.js'

/**
 * What the test kit rejects with. Codes are API, like the plugin's own
 * (FST_REALTIME_TESTING_*): a test can assert on `err.code`.
 */

export const TestTimeoutError = createError<'FST_REALTIME_TESTING_TIMEOUT', [string, number]>(
  'FST_REALTIME_TESTING_TIMEOUT', 'fastify-realtime/testing: no %s within %d ms')
export const TestConnectionClosedError = createError<'FST_REALTIME_TESTING_CLOSED', [string, number, string]>(
  'FST_REALTIME_TESTING_CLOSED', 'fastify-realtime/testing: the connection closed while waiting for %s (code %d, reason "%s")')
export const UnexpectedMessagesError = createError<'FST_REALTIME_TESTING_UNEXPECTED_MESSAGES', [number, string]>(
  'FST_REALTIME_TESTING_UNEXPECTED_MESSAGES', 'fastify-realtime/testing: expected nothing, got %d message(s) first: %s')
export const HandshakeRefusedError = createError<'FST_REALTIME_TESTING_REFUSED', [number, string]>(
  'FST_REALTIME_TESTING_REFUSED', 'fastify-realtime/testing: the handshake was refused with %d: %s')
export const ServerErrorReplyError = createError<'FST_REALTIME_TESTING_ERROR_REPLY', [string, string]>(
  'FST_REALTIME_TESTING_ERROR_REPLY', 'fastify-realtime/testing: the server answered %s: %s')
export const TestSetupError = createError<'FST_REALTIME_TESTING_SETUP', [string]>(
  'FST_REALTIME_TESTING_SETUP', 'fastify-realtime/testing: %s')

/** A refused handshake: the HTTP status and the JSON body the server answered. */
export interface HandshakeRefusal extends Error {
  code: 'FST_REALTIME_TESTING_REFUSED'
  statusCode: number
  body: Record<string, unknown>
}

export function handshakeRefusal (statusCode: number, body: Record<string, unknown>): HandshakeRefusal {
  const summary = typeof body.code === 'string' ? body.code : (typeof body.message === 'string' ? body.message : 'no JSON body')
  return Object.assign(new HandshakeRefusedError(statusCode, summary), { statusCode, body }) as HandshakeRefusal
}

/** The server's `error` reply to a request: its wire code (`INVALID_EVENT`...) as `wireCode`, the whole data as `data`. */
export interface ErrorReply extends Error {
  code: 'FST_REALTIME_TESTING_ERROR_REPLY'
  wireCode: string
  data: Record<string, unknown>
}

export function errorReply (data: Record<string, unknown>): ErrorReply {
  // an error frame always has both (ErrorDataSchema)
  const wireCode = String(data.code)
  const message = String(data.message)
  return Object.assign(new ServerErrorReplyError(wireCode, message), { wireCode, data }) as ErrorReply
}

/** What came before the sentinel, on the error (`err.messages`). */
export interface UnexpectedMessages extends Error {
  code: 'FST_REALTIME_TESTING_UNEXPECTED_MESSAGES'
  messages: ServerEnvelope[]
}

export function unexpectedMessages (messages: ServerEnvelope[]): UnexpectedMessages {
  const types = messages.map(message => message.type).join(', ')
  return Object.assign(new UnexpectedMessagesError(messages.length, types), { messages }) as UnexpectedMessages
}

export function connectionClosed (waitingFor: string, info: CloseInfo): Error & { closeInfo: CloseInfo } {
  return Object.assign(new TestConnectionClosedError(waitingFor, info.code, info.reason), { closeInfo: info })
}
