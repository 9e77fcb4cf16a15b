import type { HistoryEngine, StreamAppend, StreamKey, StreamRead, StreamSequence } from '../history/history.js'
import type { HistoryOptions } from '../history/options.js'
import type { StreamPosition } from '../protocol/server-messages.js'
import type { HubCall } from './cluster-ipc-presence.js'

/**
 * History kept in the primary's memory, shared by the workers: an append
 * gets its offsets there and comes back to every worker that needs it, this
 * one included, in stream order. It lives as long as the primary does.
 */
export class IpcHistory implements HistoryEngine {
  readonly delivery = 'transport' as const
  readonly #call: HubCall

  constructor (call: HubCall) {
    this.#call = call
  }

  append (message: StreamAppend): Promise<StreamSequence> {
    return this.#call({ op: 'history', call: 'append', message })
  }

  read (stream: StreamKey, history: HistoryOptions, since: StreamPosition | undefined, limit: number): Promise<StreamRead> {
    return this.#call({ op: 'history', call: 'read', stream, history, since, limit })
  }
}
