import type { FastifyBaseLogger } from 'fastify'
import type { Connection } from './connection.js'
import type { Registry } from './registry.js'
import type { Channels } from './channels/channels.js'
import type { Counters } from './stats.js'
import type { Streams } from './history/streams.js'
import type { RealtimeApi } from './realtime-api.js'
import type { CoreContext } from './handlers/context.js'
import type { RealtimeNode } from './realtime-node.js'

/**
 * What a handler gets: one small object per message, its methods shared on
 * the prototype (no closures allocated per message).
 */
export class HandlerContext implements CoreContext {
  readonly #node: RealtimeNode
  readonly connection: Connection
  readonly requestId: string | undefined

  constructor (node: RealtimeNode, connection: Connection, requestId: string | undefined) {
    this.#node = node
    this.connection = connection
    this.requestId = requestId
  }

  get log (): FastifyBaseLogger { return this.connection.log }
  get realtime (): RealtimeApi { return this.#node.realtime }
  get registry (): Registry<Connection> { return this.#node.registry }
  get allowedEvents (): ReadonlySet<string> { return this.#node.allowedEvents }
  get channels (): Channels { return this.#node.channels }
  get counters (): Counters { return this.#node.counters }
  get streams (): Streams { return this.#node.streams }

  reply (type: string, data: unknown): void {
    this.#node.replies.replyTo(this.connection, type, data, this.requestId)
  }

  tryReply (type: string, data: unknown): boolean {
    return this.#node.replies.tryReplyTo(this.connection, type, data)
  }

  sendError (code: string, message: string, extra?: { details?: string[], reasons?: string[] }): void {
    this.#node.replies.errorTo(this.connection, code, message, this.requestId, extra)
  }
}
