import nodeCluster from 'node:cluster'
import { ClusterHub, type ClusterHubOptions } from './hub.js'
import type { PrimaryFrame } from './ipc-protocol.js'
import { InvalidOptionsError } from '../errors.js'

/** The part of a node:cluster worker (in the primary) that the hub uses. */
export interface ClusterWorkerLike {
  readonly id: number
  isConnected (): boolean
  send (message: PrimaryFrame, callback: (error: Error | null) => void): boolean
}

/** The part of node:cluster that clusterPrimary() uses (node:cluster itself by default). */
export interface ClusterLike {
  readonly isPrimary: boolean
  readonly workers?: NodeJS.Dict<ClusterWorkerLike>
  on (event: 'fork' | 'exit', listener: (worker: ClusterWorkerLike) => void): unknown
  on (event: 'message', listener: (worker: ClusterWorkerLike, message: unknown) => void): unknown
  off (event: 'fork' | 'exit', listener: (worker: ClusterWorkerLike) => void): unknown
  off (event: 'message', listener: (worker: ClusterWorkerLike, message: unknown) => void): unknown
}

export interface ClusterPrimaryOptions extends ClusterHubOptions {
  /** node:cluster by default; tests give their own. */
  cluster?: ClusterLike
}

export interface ClusterPrimary {
  /** The shared state and the relay: `hub.stats()` is the cluster's view from the primary. */
  readonly hub: ClusterHub
  /** Stops listening to the workers; call it after they are gone. */
  close (): Promise<void>
}

/**
 * Call it in the node:cluster primary, before or after forking: the
 * workers' `clusterIpcAdapter()`s then act as one server. It relays their
 * messages and holds what they share (connection slots, channel routing,
 * presence, history); a worker that exits has all of it freed at once.
 */
export function clusterPrimary (options: ClusterPrimaryOptions = {}): ClusterPrimary {
  const { cluster = nodeCluster as unknown as ClusterLike, ...hubOptions } = options
  if (!cluster.isPrimary) throw new InvalidOptionsError('clusterPrimary() runs in the node:cluster primary; its workers use clusterIpcAdapter()')
  const hub = new ClusterHub(hubOptions)
  const add = (worker: ClusterWorkerLike): void => {
    hub.add(String(worker.id), (frame) => {
      // a worker on its way out: its exit frees its state, nothing to tell it
      if (!worker.isConnected()) return
      worker.send(frame, () => {})
    })
  }
  const onMessage = (worker: ClusterWorkerLike, message: unknown): void => {
    // a worker forked before clusterPrimary() was called
    add(worker)
    hub.receive(String(worker.id), message)
  }
  const onExit = (worker: ClusterWorkerLike): void => hub.remove(String(worker.id))
  for (const worker of Object.values(cluster.workers ?? {})) if (worker !== undefined) add(worker)
  cluster.on('fork', add)
  cluster.on('message', onMessage)
  cluster.on('exit', onExit)
  return {
    hub,
    async close () {
      cluster.off('fork', add)
      cluster.off('message', onMessage)
      cluster.off('exit', onExit)
      await hub.close()
    }
  }
}
