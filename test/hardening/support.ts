import { once } from 'node:events'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Socket } from 'node:net'
import WebSocket from 'ws'

/**
 * A full garbage collection, for memory measurements. Uses `global.gc` when
 * node runs with --expose-gc; otherwise turns the flag on at runtime and
 * takes `gc` from a fresh context (V8 installs it there once the flag is set).
 */
export function collectGarbage (): void {
  const fromGlobal = (globalThis as { gc?: () => void }).gc
  if (typeof fromGlobal === 'function') {
    fromGlobal()
    return
  }
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
}

/** The client's TCP socket (ws keeps it private; tests pause or destroy it). */
export function rawSocket (ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket
}

/** A bare ws client (no message bookkeeping), open once connection.established arrived. */
export async function openRaw (url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options)
  ws.on('error', () => {})
  const [welcome] = await once(ws, 'message', { signal: AbortSignal.timeout(5000) }) as [Buffer]
  const type = (JSON.parse(welcome.toString()) as { type: string }).type
  if (type !== 'connection.established') throw new Error(`first message was ${type}`)
  return ws
}

/** Resolves with the close code (immediately if already closed). */
export function closeCode (ws: WebSocket, timeoutMs = 5000): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs)
    ws.once('close', (code: number) => { clearTimeout(timer); resolve(code) })
  })
}

/** Waits (no fixed sleep) until a condition holds (test/helpers/wait.ts). */
export { eventually as until } from '../helpers/wait.js'

/**
 * process.memoryUsage().arrayBuffers once garbage is really gone: V8 frees
 * the backing stores of collected ArrayBuffers on a background task, so
 * collect, let that task run, and collect again.
 */
export async function settledArrayBuffers (): Promise<number> {
  for (let i = 0; i < 3; i++) {
    collectGarbage()
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return heldBytes()
}

/**
 * Buffers and the JavaScript heap together: a socket's unsent data is
 * Buffers (a shared frame) or strings (what ws.send was given as text),
 * and a string lives on the heap.
 */
export function heldBytes (): number {
  const { arrayBuffers, heapUsed } = process.memoryUsage()
  return arrayBuffers + heapUsed
}
