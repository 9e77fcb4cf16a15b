import { randomUUID } from 'node:crypto'
import type { RealtimeApi } from 'fastify-realtime'
import { Namespace } from './channels.js'

interface Upload {
  id: string
  userId: string
  totalBytes: number
  progress: number
  timer: NodeJS.Timeout
}

/**
 * A pretend upload: progress from 0 to 100 % in 10 % steps, then
 * upload.completed, each sent to the owner's connections subscribed to it
 * (the event, for all of one's uploads) and to the channel `upload:<id>`
 * (one upload; only its uploader may subscribe). The two paths are
 * independent: a connection subscribed to both gets each message twice, so
 * a client picks one.
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
    this.#send(upload, 'upload.cancelled', { upload_id: upload.id, reason: 'cancelled by user', timestamp: new Date().toISOString() })
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
      this.#send(upload, 'upload.completed', { upload_id: upload.id, total_bytes: upload.totalBytes, timestamp: new Date().toISOString() }, 'upload.completed')
    }
  }

  #report (upload: Upload): void {
    this.#send(upload, 'upload.progress', {
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

  /**
   * Without `subscribedTo` the message goes to every connection of the
   * uploader, which includes the channel's subscribers (only the uploader
   * may subscribe to it): the channel is left out, or they would get it twice.
   */
  #send (upload: Upload, type: string, data: unknown, subscribedTo?: string): void {
    const realtime = this.#realtime
    if (realtime === undefined) return
    const message = { type, data }
    const deliveries = subscribedTo === undefined
      ? [realtime.sendToUser(upload.userId, message)]
      : [realtime.sendToUser(upload.userId, message, { subscribedTo }), realtime.publish(`${Namespace.upload}:${upload.id}`, message)]
    Promise.all(deliveries).catch(() => {
      // a publish to other nodes failed: local delivery already happened, the demo carries on
    })
  }
}
