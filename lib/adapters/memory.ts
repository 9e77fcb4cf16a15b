import type { Adapter, ClusterMessage } from './adapter.js'

/**
 * The default: one process is the whole cluster, so there is nobody to
 * publish to. Local delivery is done by the node itself.
 */
export class MemoryAdapter implements Adapter {
  async start (): Promise<void> {}
  async publish (_message: ClusterMessage): Promise<void> {}
  async close (): Promise<void> {}
}

export function memoryAdapter (): Adapter {
  return new MemoryAdapter()
}
