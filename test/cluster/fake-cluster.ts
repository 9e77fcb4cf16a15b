import { EventEmitter } from 'node:events'
import type { ClusterLike, ClusterWorkerLike } from '../../lib/cluster/primary.js'
import type { IpcChannel } from '../../lib/index.js'

/**
 * node:cluster in one process, for tests whose coverage must be real: a
 * primary-side EventEmitter with workers, each with the worker-side end of
 * an IPC channel. Frames cross as JSON copies on a later turn, as they would
 * between processes.
 */
export class FakeCluster extends EventEmitter implements ClusterLike {
  isPrimary = true
  readonly workers: Record<number, FakeWorker> = {}
  #nextId = 0

  /** A new worker (its 'fork' is emitted): give its `channel` to clusterIpcAdapter({ ipc }). */
  fork (): FakeWorker {
    const worker = new FakeWorker(++this.#nextId, this)
    this.workers[worker.id] = worker
    this.emit('fork', worker)
    return worker
  }
}

export class FakeWorker implements ClusterWorkerLike {
  readonly id: number
  readonly channel: FakeChannel
  readonly #cluster: FakeCluster
  /** Every frame the primary sent this worker. */
  readonly sent: unknown[] = []

  constructor (id: number, cluster: FakeCluster) {
    this.id = id
    this.#cluster = cluster
    this.channel = new FakeChannel((frame) => cluster.emit('message', this, frame))
  }

  isConnected (): boolean {
    return this.channel.connected
  }

  send (message: unknown, callback: (error: Error | null) => void): boolean {
    this.sent.push(message)
    const copy = JSON.stringify(message)
    setImmediate(() => this.channel.emit('message', JSON.parse(copy)))
    setImmediate(() => callback(null))
    return true
  }

  /** The worker dies: its channel closes, then the primary sees 'exit'. */
  kill (): void {
    this.channel.connected = false
    this.channel.emit('disconnect')
    delete this.#cluster.workers[this.id]
    this.#cluster.emit('exit', this)
  }
}

export class FakeChannel extends EventEmitter implements IpcChannel {
  connected = true
  readonly #toPrimary: (frame: unknown) => void
  /** Set to make the next sends fail as a closed channel's do. */
  failSends = false

  constructor (toPrimary: (frame: unknown) => void) {
    super()
    this.#toPrimary = toPrimary
  }

  send (message: unknown, callback: (error: Error | null) => void): boolean {
    if (this.failSends) {
      setImmediate(() => callback(new Error('channel closed')))
      return false
    }
    const copy = JSON.stringify(message)
    setImmediate(() => this.#toPrimary(JSON.parse(copy)))
    setImmediate(() => callback(null))
    return true
  }
}
