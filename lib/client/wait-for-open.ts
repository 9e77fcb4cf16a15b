import type { ConnectionEstablished } from '../protocol/server-messages.js'
import type { TypedEmitter } from './emitter.js'
import { ClientErrorCode, RealtimeClientError } from './errors.js'
import { ConnectionState, type ClientEventMap, type Clock } from './types.js'

export interface WaitForOpenOptions {
  /** Reject with REQUEST_TIMEOUT after this long. */
  timeoutMs?: number
  signal?: AbortSignal
}

/** Resolves at the next 'open'; rejects when the client closes first, on abort, or after timeoutMs. */
export function nextOpen (emitter: TypedEmitter<ClientEventMap>, clock: Clock, options: WaitForOpenOptions): Promise<ConnectionEstablished> {
  const { signal, timeoutMs } = options
  if (signal?.aborted === true) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    let timer: unknown
    const cleanup = (): void => {
      offOpen()
      offState()
      if (timer !== undefined) clock.clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const onAbort = (): void => { cleanup(); reject(signal?.reason) }
    const offOpen = emitter.on('open', (established) => { cleanup(); resolve(established) })
    const offState = emitter.on('state', (change) => {
      if (change.state !== ConnectionState.closed) return
      cleanup()
      reject(change.error ?? new RealtimeClientError(ClientErrorCode.closed, 'the client was closed'))
    })
    signal?.addEventListener('abort', onAbort)
    if (timeoutMs !== undefined) {
      timer = clock.setTimeout(() => {
        cleanup()
        reject(new RealtimeClientError(ClientErrorCode.timeout, `not open within ${timeoutMs} ms`))
      }, timeoutMs)
    }
  })
}
