import type { Adapter, ClusterMessage } from './adapter.js'
import type { PresenceBackend, PresenceBackendContext } from '../presence/backend.js'
import { MemoryPresence } from '../presence/memory-presence.js'

/**
 * The default: one process is the whole cluster, so there is nobody to
 * publish to. Local delivery is done by the node itself.
 */
export class MemoryAdapter implements Adapter {
  async start (): Promise<void> {}
  async publish (_message: ClusterMessage): Promise<void> {}
  async close (): Promise<void> {}

  /** This process is the whole cluster: presence lives here too. */
  presence (context: PresenceBackendContext): PresenceBackend {
    return new MemoryPresence(context)
  }
}

export function memoryAdapter (): Adapter {
  return new MemoryAdapter()
}
