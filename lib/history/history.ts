import type { DeliveryTarget } from '../adapters/adapter.js'
import type { StreamPosition } from '../protocol/server-messages.js'
import type { HistoryOptions } from './options.js'

/**
 * A stream's name inside an engine: `c:<channel>` for a channel with
 * history, `u:<userId>` for a user's inbox (the prefixes keep a user id from
 * ever naming a channel's stream).
 */
export type StreamKey = string
export const channelStream = (channel: string): StreamKey => `c:${channel}`
export const inboxStream = (userId: string): StreamKey => `u:${userId}`

/** Where one message went in one stream. */
export interface StreamStamp {
  readonly offset: number
  readonly epoch: string
}

/**
 * One message entering its streams: a channel's, the inboxes of the users
 * it is addressed to, or both (a targeted review change beside review:<id>).
 */
export interface StreamAppend {
  /** Who receives it; the transport of a clustered engine carries it with the stamps. */
  readonly target: DeliveryTarget
  /** The envelope as built, without offsets: what the target's plain recipients get. */
  readonly payload: string
  readonly channel?: {
    readonly name: string
    /** The envelope with `channel` (the payload itself for a channel target). */
    readonly text: string
    readonly history: HistoryOptions
  }
  readonly inbox?: {
    /** Each user once. */
    readonly userIds: readonly string[]
    readonly history: HistoryOptions
  }
}

/** The stamps of one message: its channel's, and one per inbox user (in StreamAppend.inbox.userIds order). */
export interface StreamSequence {
  readonly channel?: StreamStamp
  readonly users?: readonly StreamStamp[]
}

/** Why a position cannot be recovered from the engine's history. */
export type EngineRefusal = 'epoch_changed' | 'too_old' | 'too_many'

/** What a read answers: the stream's position now and, when a position was given, what came after it. */
export type StreamRead =
  | { readonly position: StreamPosition, readonly recovered?: undefined }
  | { readonly position: StreamPosition, readonly recovered: true, readonly entries: readonly string[] }
  | { readonly position: StreamPosition, readonly recovered: false, readonly reason: EngineRefusal }

/**
 * Where streams keep their history: offsets, epochs and the last messages.
 * The in-memory engine (one process) is the default; a cluster adapter
 * brings its own (`Adapter.history`), shared by every node.
 */
export interface HistoryEngine {
  /**
   * 'local': after append resolves, the node delivers the message to its own
   * connections itself. 'transport': append also publishes it, and the
   * adapter hands it back to every node, this one included, in stream
   * order (so a node never delivers a stream's messages out of order).
   */
  readonly delivery: 'local' | 'transport'
  /**
   * Gives the message its offset in each of its streams (each +1, atomic
   * across the cluster) and stores it, in the form its stream replays
   * (`{...,"offset":N}` for a channel, `{...,"inbox":true,"offset":N}` for an
   * inbox). Rejects when it could not: the message must then be sent to nobody.
   */
  append (message: StreamAppend): Promise<StreamSequence>
  /** append, synchronously, for a 'local' engine that can (the in-memory one): the node then delivers in the same tick. */
  appendNow? (message: StreamAppend): StreamSequence
  /**
   * The stream's position (a stream never seen gets its epoch here) and,
   * with `since`, every message after it in order, or why not: a position
   * of another epoch, or after the stream's top, is `epoch_changed`; a
   * missed message already gone (beyond size, or older than ttlMs) is
   * `too_old`; more than `limit` missed is `too_many`. Never a partial list.
   */
  read (stream: StreamKey, history: HistoryOptions, since: StreamPosition | undefined, limit: number): Promise<StreamRead>
  /** Drops what expired (the node's sweep calls it). */
  sweep? (now: number): void
}

/** The stored form of a message in a stream: its JSON text with the stream's fields before the closing brace. */
export function withOffset (text: string, offset: number): string {
  return `${text.slice(0, -1)},"offset":${offset}}`
}

export function withInboxOffset (text: string, offset: number): string {
  return `${text.slice(0, -1)},"inbox":true,"offset":${offset}}`
}
