import { randomUUID } from 'node:crypto'
import WebSocket from 'ws'
import { TestConnectionClosedError, UnexpectedMessagesError, type CloseInfo, type UnexpectedMessages } from '../../lib/testing/index.js'
import { TestClient as KitTestClient } from '../../lib/testing/test-client.js'
import type { ConnectionEstablished, ServerEnvelope } from '../../lib/protocol/server-messages.js'

export interface Envelope<T = Record<string, unknown>> {
  type: string
  data: T
  timestamp: string
  id: string
  /** Set on a message published to a channel. */
  channel?: string
  /** A stream message's position (a channel with history, or the inbox). */
  offset?: number
}

/** How a connection ended: the test kit's own type (lib/testing). */
export type { CloseInfo } from '../../lib/testing/index.js'

const DEFAULT_TIMEOUT_MS = 3000

/** The type of a sentinel message (see messagesBefore): no server code sends it. */
export const MARKER_TYPE = 'test.marker'
export interface MarkerMessage { type: typeof MARKER_TYPE, data: { label: string } }

/** A sentinel for a negative check; deliver it with any app.realtime method, then await messagesBefore(client, label). */
export function marker (label: string = randomUUID()): MarkerMessage {
  return { type: MARKER_TYPE, data: { label } }
}

/** Whether `m` is the pong answering a ping whose pingId was `label`. */
export function isPongFor (label: string): (m: Envelope) => boolean {
  return (m) => m.type === 'pong' && m.data.pingId === label
}

/**
 * A real WebSocket client that keeps every message it receives, so a test
 * can await the next one of a type without racing the socket: the kit's
 * TestClient (lib/testing) over a socket the test opened itself (any URL,
 * token, protocols or ws options), under the names these tests use. `ws`
 * stays reachable for what only a raw socket shows (ping frames, the
 * negotiated protocol and extensions, readyState).
 */
export class TestClient {
  readonly ws: WebSocket
  /** The kit's client reading this socket. */
  readonly kit: KitTestClient
  readonly closed: Promise<CloseInfo>
  /** From the welcome (connection.established), for sendToConnection. */
  connectionId: string | undefined

  constructor (ws: WebSocket) {
    this.ws = ws
    this.kit = new KitTestClient(ws, DEFAULT_TIMEOUT_MS)
    this.closed = this.kit.closed
    ws.on('error', () => {})
    // the kit learns the welcome from connect(); a socket opened here tells it as the welcome arrives
    ws.on('message', (raw: Buffer) => {
      if (this.connectionId !== undefined) return
      let message: Envelope | undefined
      try { message = JSON.parse(raw.toString()) as Envelope } catch {}
      if (message?.type !== 'connection.established' || typeof message.data.connection_id !== 'string') return
      this.connectionId = message.data.connection_id
      this.kit.established(message.data as unknown as ConnectionEstablished)
    })
  }

  /** Received and not taken yet, oldest first (a copy). */
  get received (): Envelope[] {
    return this.kit.queued as unknown as Envelope[]
  }

  /** The next message of `type` (already received or still to come). */
  next<T = Record<string, unknown>> (type?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Envelope<T>> {
    return this.#afterClosed(this.kit.next(type, { timeoutMs })) as unknown as Promise<Envelope<T>>
  }

  /** The next message that `match` accepts (already received or still to come); the others stay queued in order. */
  nextWhere<T = Record<string, unknown>> (match: (m: Envelope) => boolean, _what = 'matching message', timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Envelope<T>> {
    return this.#afterClosed(this.kit.next(match as unknown as (m: ServerEnvelope) => boolean, { timeoutMs })) as unknown as Promise<Envelope<T>>
  }

  /**
   * The kit rejects a wait as the connection closes; tests here race next()
   * against `closed`, which must win: the rejection comes a turn later.
   */
  async #afterClosed<T> (waiting: Promise<T>): Promise<T> {
    try {
      return await waiting
    } catch (err) {
      if (!(err instanceof TestConnectionClosedError)) throw err
      await this.closed
      await new Promise(resolve => setImmediate(resolve))
      throw err
    }
  }

  /**
   * Every message received before the first one matching `isMarker`,
   * already buffered or still to come, in order; consumes them and the
   * marker (the kit's expectNothing, whose refusal lists them).
   */
  async messagesBefore (isMarker: (m: Envelope) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Envelope[]> {
    try {
      await this.#afterClosed(this.kit.expectNothing({ until: isMarker as unknown as (m: ServerEnvelope) => boolean, timeoutMs }))
      return []
    } catch (err) {
      if (err instanceof UnexpectedMessagesError) return (err as UnexpectedMessages).messages as unknown as Envelope[]
      throw err
    }
  }

  /** Sends a message object as JSON, or a string as is. */
  send (message: unknown): void {
    this.kit.sendRaw(typeof message === 'string' ? message : JSON.stringify(message))
  }

  /** Sends a message and awaits the reply of `replyType`. */
  async request<T = Record<string, unknown>> (message: { type: string, data?: unknown, id?: string }, replyType: string): Promise<Envelope<T>> {
    const reply = this.next<T>(replyType)
    this.send(message)
    return reply
  }

  async close (): Promise<void> {
    await this.kit.close()
  }
}

/**
 * Negative check by sentinel: resolves with what `client` received before
 * the marker `label` (sent with marker(label) after the action under test);
 * `[]` proves nothing arrived. The marker must travel the path of what it
 * checks (see messagesBeforeMarker).
 */
export function messagesBefore (client: TestClient, label: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Envelope[]> {
  return client.messagesBefore(m => m.type === MARKER_TYPE && m.data.label === label, timeoutMs)
}

/**
 * The same with a ping this connection's server must answer: for checks
 * where the action ran on the node holding the connection (a frame the
 * client sent, a local delivery that already resolved).
 */
export function messagesBeforePong (client: TestClient, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Envelope[]> {
  const label = randomUUID()
  const before = client.messagesBefore(isPongFor(label), timeoutMs)
  client.send({ type: 'ping', data: { pingId: label } })
  return before
}

/** The connection id of a client (from its welcome), for app.realtime.sendToConnection. */
export function connectionIdOf (client: TestClient): string {
  if (client.connectionId === undefined) throw new Error('this client has not received connection.established')
  return client.connectionId
}

/** What sends the marker: `app.realtime` of the node that did the action under test. */
export interface MarkerSender {
  sendToConnection (connectionId: string, message: MarkerMessage): Promise<number>
}

/**
 * The usual negative check: `via.sendToConnection` sends this connection a
 * marker after the action resolved; resolves with what arrived before it
 * (`[]` = nothing). On one node the marker is written behind the action's
 * writes. Across nodes, pass the `app.realtime` of a node that does not hold
 * the connection: the marker then crosses Redis behind the action's publish
 * (which had resolved), and behind its echo to the acting node.
 */
export async function messagesBeforeMarker (client: TestClient, via: MarkerSender, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Envelope[]> {
  const label = randomUUID()
  const before = messagesBefore(client, label, timeoutMs)
  await via.sendToConnection(connectionIdOf(client), marker(label))
  return before
}

/**
 * The answer (a confirmation or an error) whose request_id is `id`; other
 * messages stay queued. A recovery.result carries the request id too, and is
 * not the answer.
 */
export function answerTo (client: TestClient, id: string, timeoutMs = 5000): Promise<Envelope> {
  return client.nextWhere((m) => (m.data as { request_id?: unknown } | null)?.request_id === id && m.type !== 'recovery.result', `the answer to ${id}`, timeoutMs)
}

/** Sends subscribe (or unsubscribe) with a fresh id; resolves its answer: the confirmation, or the error (the kit's request). */
export async function subscribeWith<T = Record<string, unknown>> (client: TestClient, data: Record<string, unknown>, type: 'subscribe' | 'unsubscribe' = 'subscribe'): Promise<Envelope<T>> {
  return await client.kit.request(type, data) as unknown as Envelope<T>
}

export interface Refusal { statusCode: number, body: Record<string, unknown> }

/** Opens a socket and resolves once it is open, or rejects with the HTTP refusal. */
export function openSocket (url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const ws = protocols === undefined ? new WebSocket(url, options) : new WebSocket(url, protocols, options)
    const client = new TestClient(ws)
    ws.once('open', () => resolve(client))
    ws.once('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => { body += chunk.toString() })
      response.on('end', () => {
        let parsed: Record<string, unknown> = {}
        try { parsed = JSON.parse(body) as Record<string, unknown> } catch {}
        const refusal: Refusal = { statusCode: response.statusCode ?? 0, body: parsed }
        reject(Object.assign(new Error(`refused with ${response.statusCode ?? 0}`), refusal))
      })
    })
    ws.once('error', reject)
  })
}

/**
 * Resolves the HTTP refusal of a handshake that must be refused (openSocket's,
 * or the kit's connect(), whose HandshakeRefusal has the same statusCode and
 * body); fails if it was accepted, after closing what was opened.
 */
export async function refusalOf (attempt: Promise<unknown>): Promise<Refusal> {
  let accepted: unknown
  try {
    accepted = await attempt
  } catch (err) {
    return err as Refusal
  }
  await (accepted as { close?: () => unknown } | undefined)?.close?.()
  throw new Error('the connection was accepted')
}
