import { randomUUID } from 'node:crypto'
import type { RealtimeApi } from 'fastify-realtime'

interface Upload {
  id: string
  userId: string
  totalBytes: number
  progress: number
  timer: NodeJS.Timeout
}

/**
 * A pretend upload: progress from 0 to 100 % in 10 % steps, then
 * upload.completed, each sent to the owner's connections subscribed to it.
 */
export class SimulatedUploads {
  readonly #uploads = new Map<string, Upload>()
  readonly #stepMs: number
  #realtime: RealtimeApi | undefined

  constructor (stepMs: number) {
    this.#stepMs = stepMs
  }

  attach (realtime: RealtimeApi): void {
    this.#realtime = realtime
  }

  start (userId: string, totalBytes: number): string {
    const id = `upload_${randomUUID()}`
    const upload: Upload = { id, userId, totalBytes, progress: 0, timer: setInterval(() => this.#step(upload), this.#stepMs) }
    upload.timer.unref()
    this.#uploads.set(id, upload)
    this.#report(upload)
    return id
  }

  /** Who started a running upload (what the `upload` channel namespace admits); undefined once it ended. */
  uploaderOf (uploadId: string): string | undefined {
    return this.#uploads.get(uploadId)?.userId
  }

  /** Stops a user's own upload; false if there is no such upload of theirs. */
  cancel (uploadId: string, userId: string): boolean {
    const upload = this.#uploads.get(uploadId)
    if (upload === undefined || upload.userId !== userId) return false
    this.#stop(upload)
    this.#send(upload.userId, 'upload.cancelled', { upload_id: upload.id, reason: 'cancelled by user', timestamp: new Date().toISOString() })
    return true
  }

  stopAll (): void {
    for (const upload of this.#uploads.values()) this.#stop(upload)
  }

  #step (upload: Upload): void {
    upload.progress = Math.min(100, upload.progress + 10)
    this.#report(upload)
    if (upload.progress === 100) {
      this.#stop(upload)
      this.#send(upload.userId, 'upload.completed', { upload_id: upload.id, total_bytes: upload.totalBytes, timestamp: new Date().toISOString() }, 'upload.completed')
    }
  }

  #report (upload: Upload): void {
    this.#send(upload.userId, 'upload.progress', {
      upload_id: upload.id,
      progress: upload.progress,
      bytes_uploaded: Math.round(upload.totalBytes * upload.progress / 100),
      total_bytes: upload.totalBytes,
      timestamp: new Date().toISOString()
    }, 'upload.progress')
  }

  #stop (upload: Upload): void {
    clearInterval(upload.timer)
    this.#uploads.delete(upload.id)
  }

  #send (userId: string, type: string, data: unknown, subscribedTo?: string): void {
    const options = subscribedTo === undefined ? undefined : { subscribedTo }
    this.#realtime?.sendToUser(userId, { type, data }, options).catch(() => {
      // a publish to other nodes failed: local delivery already happened, the demo carries on
    })
  }
}
