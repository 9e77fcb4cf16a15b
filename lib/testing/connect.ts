import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import type { ServerMessage } from '../protocol/server-messages.js'
import { BEARER_PROTOCOL_PREFIX, SUBPROTOCOL } from '../protocol/constants.js'
import type { ConnectOptions, RealtimeTestClient, TestIdentity } from './types.js'
import { TestClient } from './test-client.js'
import { tokenFor } from './token.js'
import { TestSetupError, handshakeRefusal, type HandshakeRefusal } from './errors.js'

export const DEFAULT_TIMEOUT_MS = 5000

/** One listen per app, however many clients connect at once. */
const listening = new WeakMap<FastifyInstance, Promise<unknown>>()

/**
 * Connects a test client to `app`'s realtime endpoint over a real socket:
 * on the address the app listens on, or on 127.0.0.1 and a free port after
 * listening for you (close the app in your teardown: that closes these
 * clients too). Resolves once `connection.established` has arrived; rejects
 * with FST_REALTIME_TESTING_REFUSED (`statusCode`, `body`) when the
 * handshake is refused.
 */
export async function connect (app: FastifyInstance, who: TestIdentity, options: ConnectOptions = {}): Promise<RealtimeTestClient> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const base = await baseUrlOf(app)
  const path = options.path ?? '/ws'
  if (!app.hasRoute({ method: 'GET', url: path })) {
    throw new TestSetupError(`no realtime endpoint at GET ${path}: pass { path } with the register prefix included (e.g. '/api/v1/ws')`)
  }
  const token = await tokenFor(app, who, options)
  const auth = options.auth ?? 'protocol'
  const headers: Record<string, string> = { ...options.headers }
  if (auth === 'header') headers.authorization = `Bearer ${token}`
  const url = (auth === 'path' ? `${base}${path}/${token}` : `${base}${path}`) + queryOf(options.query)
  const protocols = auth === 'protocol' ? [SUBPROTOCOL, `${BEARER_PROTOCOL_PREFIX}${token}`] : [SUBPROTOCOL]

  const clientOptions: WebSocket.ClientOptions = { headers, handshakeTimeout: timeoutMs }
  if (options.localAddress !== undefined) clientOptions.localAddress = options.localAddress
  const socket = new WebSocket(url, protocols, clientOptions)
  // listening from the first moment: connection.established may arrive with the upgrade
  const client = new TestClient(socket, timeoutMs)
  socket.on('error', () => {}) // the handshake's failure is the promise's; later errors end in 'close'
  await opened(socket)
  const established = await client.next('connection.established') as ServerMessage<'connection.established'>
  client.established(established.data)
  return client
}

/**
 * Resolves with the refusal of a handshake that must be refused (what
 * `connect()` rejects with); rejects if it was accepted, after closing that
 * client, or if it failed another way.
 */
export async function expectRefused (attempt: Promise<RealtimeTestClient>): Promise<HandshakeRefusal> {
  let accepted: RealtimeTestClient
  try {
    accepted = await attempt
  } catch (err) {
    if ((err as { code?: unknown }).code === 'FST_REALTIME_TESTING_REFUSED') return err as HandshakeRefusal
    throw err
  }
  await accepted.close()
  throw new TestSetupError(`the handshake was accepted (connection ${accepted.connectionId}), not refused`)
}

/** `?a=b&...` from a record, or the string with its `?`. */
function queryOf (query: ConnectOptions['query']): string {
  if (query === undefined) return ''
  if (typeof query !== 'string') return `?${new URLSearchParams(query).toString()}`
  return query.startsWith('?') ? query : `?${query}`
}

function opened (socket: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
    socket.once('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('error', () => {})
      response.on('end', () => {
        let body: Record<string, unknown> = {}
        try {
          const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString())
          if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>
        } catch {}
        reject(handshakeRefusal(Number(response.statusCode), body))
        socket.terminate()
      })
    })
  })
}

/** ws://host:port of the app, listening on 127.0.0.1:0 first when it does not listen yet. */
async function baseUrlOf (app: FastifyInstance): Promise<string> {
  if (!app.server.listening) {
    let pending = listening.get(app)
    if (pending === undefined) {
      pending = app.listen({ port: 0, host: '127.0.0.1' })
      listening.set(app, pending)
    }
    await pending
  }
  const address = app.server.address()
  if (typeof address === 'string') return `ws+unix://${address}:`
  /* c8 ignore next */ // a listening server always has an address
  if (address === null) throw new TestSetupError('the app has no address')
  if (address.family === 'IPv6' || address.family === (6 as unknown as string)) {
    return `ws://[${address.address === '::' ? '::1' : address.address}]:${address.port}`
  }
  return `ws://${address.address === '0.0.0.0' ? '127.0.0.1' : address.address}:${address.port}`
}
