import { withInboxOffset, withOffset } from './history.js'

/** The inbox key of a connection's gate (a channel's key is its name). */
export const INBOX_KEY = 'inbox'

/**
 * One form of a stream message, as a class of recipients gets it: a channel
 * member (`channel`, its offset when the channel has history), an inbox
 * recipient (`inbox: true` and the inbox offset), or a member the message is
 * also addressed to (the channel form with `inbox_offset`). Its bytes are
 * made once, for every connection of that class.
 */
export class StreamCopy {
  /** The envelope with `channel` and no offsets; undefined for the inbox form. */
  readonly channelText: string | undefined
  /** The channel whose history gives `channelOffset` (the gate key); undefined without one. */
  readonly channel: string | undefined
  readonly channelOffset: number | undefined
  readonly inboxOffset: number | undefined
  readonly #plain: string
  #bytes: Buffer | undefined
  /** The shared WebSocket frame, built by Delivery on first use. */
  frame: Buffer | undefined
  /** Whether Delivery wrote it to a socket already (Outgoing.isWritten): declared so that every copy has one shape. */
  isWritten: boolean | undefined = undefined

  constructor (plain: string, channelText: string | undefined, channel: string | undefined, channelOffset: number | undefined, inboxOffset: number | undefined) {
    this.#plain = plain
    this.channelText = channelText
    this.channel = channelOffset === undefined ? undefined : channel
    this.channelOffset = channelOffset
    this.inboxOffset = inboxOffset
  }

  get bytes (): Buffer {
    this.#bytes ??= Buffer.from(this.render(this.channelText !== undefined, this.inboxOffset !== undefined))
    return this.#bytes
  }

  /** The text with only some of its parts (a gate sends the inbox part of a message whose channel part it holds). */
  render (withChannel: boolean, withInbox: boolean): string {
    if (withChannel && this.channelText !== undefined) {
      const text = this.channelOffset === undefined ? this.channelText : withOffset(this.channelText, this.channelOffset)
      return withInbox && this.inboxOffset !== undefined ? `${text.slice(0, -1)},"inbox_offset":${this.inboxOffset}}` : text
    }
    /* c8 ignore next */ // a copy always has a channel or an inbox part
    return this.inboxOffset === undefined ? this.#plain : withInboxOffset(this.#plain, this.inboxOffset)
  }
}
