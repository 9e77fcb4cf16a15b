import { once } from 'node:events'
import WebSocket from 'ws'

export interface Envelope<T = Record<string, unknown>> {
  type: string
  data: T
  timestamp: string
  id: string
  /** Set on a message published to a channel. */
  channel?: string
}

export interface CloseInfo { code: number, reason: string }

const DEFAULT_TIMEOUT_MS = 3000

/**
 * A real WebSocket client that keeps every message it receives, so a test
 * can await the next one of a type without racing the socket.
 */
export class TestClient {
  readonly ws: WebSocket
  readonly received: Envelope[] = []
  readonly #waiters: Array<{ match: (m: Envelope) => boolean, resolve: (m: Envelope) => void }> = []
  readonly closed: Promise<CloseInfo>

  constructor (ws: WebSocket) {
    this.ws = ws
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
    })
    ws.on('error', () => {})
    ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as Envelope
      const index = this.#waiters.findIndex(w => w.match(message))
      if (index === -1) {
        this.received.push(message)
      } else {
        const [waiter] = this.#waiters.splice(index, 1)
        waiter?.resolve(message)
      }
    })
  }

  /** The next message of `type` (already received or still to come). */
  next<T = Record<string, unknown>> (type?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Envelope<T>> {
    return this.nextWhere<T>((m) => type === undefined || m.type === type, type ?? 'message', timeoutMs)
  }

  /** The next message that `match` accepts (already received or still to come); the others stay queued in order. */
  nextWhere<T = Record<string, unknown>> (match: (m: Envelope) => boolean, what = 'matching message', timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Envelope<T>> {
    const index = this.received.findIndex(match)
    if (index !== -1) return Promise.resolve(this.received.splice(index, 1)[0] as Envelope<T>)
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (m: Envelope) => { clearTimeout(timer); resolve(m as Envelope<T>) } }
      const timer = setTimeout(() => {
        const at = this.#waiters.indexOf(waiter)
        if (at !== -1) this.#waiters.splice(at, 1)
        reject(new Error(`no ${what} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.push(waiter)
    })
  }

  /** Resolves true if no message of `type` arrives within `ms` (for isolation checks). */
  async nothingWithin (ms: number, type?: string): Promise<boolean> {
    try {
      await this.next(type, ms)
      return false
    } catch {
      return true
    }
  }

  send (message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  /** Sends a message and awaits the reply of `replyType`. */
  async request<T = Record<string, unknown>> (message: { type: string, data?: unknown, id?: string }, replyType: string): Promise<Envelope<T>> {
    const reply = this.next<T>(replyType)
    this.send(message)
    return reply
  }

  async close (): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return
    if (this.ws.readyState !== WebSocket.CLOSING) this.ws.close()
    await Promise.race([once(this.ws, 'close'), new Promise(resolve => setTimeout(resolve, 1000))])
    this.ws.terminate()
  }
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

/** Resolves the HTTP refusal of a handshake that must be refused; fails if it was accepted. */
export async function refusalOf (attempt: Promise<unknown>): Promise<Refusal> {
  try {
    await attempt
  } catch (err) {
    return err as Refusal
  }
  throw new Error('the connection was accepted')
}
