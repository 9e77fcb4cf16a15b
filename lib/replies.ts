import type { Connection } from './connection.js'
import type { Delivery } from './delivery.js'
import type { Counters } from './stats.js'
import { boundedErrorData, encodeErrorFrame, type ErrorExtra } from './error-frame.js'
import { clipJsonString } from './bounded-text.js'
import { MAX_TYPE_BYTES } from './message-router.js'
import { WireError } from './protocol/codes.js'

/** Replies and error frames to one connection: encoded, fitted to maxMessageSize, never thrown. */
export class Replies {
  readonly #delivery: Delivery
  readonly #counters: Counters
  readonly #maxMessageSize: number

  constructor (delivery: Delivery, counters: Counters, maxMessageSize: number) {
    this.#delivery = delivery
    this.#counters = counters
    this.#maxMessageSize = maxMessageSize
  }

  /**
   * Encodes and sends one reply to one connection. Never throws (handlers
   * call it, often from inside a socket callback): a reply that cannot be
   * encoded (over maxMessageSize, not serializable) is logged with its
   * coded error and replaced by a HANDLER_ERROR error frame.
   */
  replyTo (connection: Connection, type: string, data: unknown, requestId: string | undefined): void {
    let text: string
    try {
      text = this.#delivery.encodeText(type, data)
    } catch (err) {
      const messageType = clipJsonString(String(type), MAX_TYPE_BYTES)
      connection.log.error({ err, messageType }, 'reply not sent')
      this.errorTo(connection, WireError.handlerError, `Could not send the ${messageType} reply (${(err as { code?: string }).code ?? 'error'})`, requestId)
      return
    }
    this.#send(connection, text)
  }

  /** Sends a reply only if it fits maxMessageSize (nothing is sent otherwise): false lets the caller undo and answer. */
  tryReplyTo (connection: Connection, type: string, data: unknown): boolean {
    let text: string
    try {
      text = this.#delivery.encodeText(type, data)
    } catch {
      return false
    }
    this.#send(connection, text)
    return true
  }

  /** Never throws: every part built from client input is bounded, and the frame is fitted to maxMessageSize. */
  errorTo (connection: Connection, code: string, message: string, requestId: string | undefined, extra?: ErrorExtra): void {
    const data = boundedErrorData(code, message, requestId, extra)
    const text = encodeErrorFrame((type, payload) => this.#delivery.encodeText(type, payload), this.#maxMessageSize, data)
    /* c8 ignore next 4 */ // maxMessageSize's minimum fits the smallest form of every error frame
    if (text === undefined) {
      connection.log.error({ code }, 'error frame not sent: it does not fit maxMessageSize')
      return
    }
    this.#counters.errors++
    this.#counters.countError(code)
    this.#send(connection, text)
  }

  #send (connection: Connection, text: string): void {
    this.#delivery.sendToOne(connection, text)
  }
}
