import type { AdapterFrame } from './redis-frame-codec.js'
import { encodeAdapterFrame } from './redis-frame-codec.js'
import { ClusterCountTimeoutError } from '../errors.js'

/** What the channel counts need from their adapter. */
export interface CountQueriesLink {
  /** Known once the adapter started. */
  readonly nodeId: string
  readonly timeoutMs: number
  localChannelSubscribers (channel: string): number
  /** Publishes a frame on the cluster channel; resolves how many nodes heard it. */
  publish (frame: string): Promise<number>
  /** An answer that could not be sent (logged, not thrown: the asker times out). */
  onAnswerFailed (err: unknown): void
}

interface CountQuery {
  total: number
  answers: number
  /** How many other nodes heard the question: known once PUBLISH returned (answers may come first). */
  expected: number | undefined
  resolve (total: number): void
  reject (err: Error): void
  timer: NodeJS.Timeout | undefined
}

/**
 * A channel's subscribers across the cluster: asked of every node over the
 * cluster channel and summed from the answers, so nothing is stored per
 * subscription; the cost is paid when asked.
 */
export class ChannelCountQueries {
  readonly #link: CountQueriesLink
  readonly #queries = new Map<string, CountQuery>()
  #nextQuery = 0

  constructor (link: CountQueriesLink) {
    this.#link = link
  }

  /** PUBLISH says how many nodes heard the question; rejects if they have not all answered within timeoutMs. */
  async ask (channel: string): Promise<number> {
    const { nodeId, timeoutMs } = this.#link
    const queryId = `${nodeId}:${++this.#nextQuery}`
    let resolve!: (total: number) => void
    let reject!: (err: Error) => void
    const answered = new Promise<number>((res, rej) => { resolve = res; reject = rej })
    const query: CountQuery = { total: this.#link.localChannelSubscribers(channel), answers: 0, expected: undefined, resolve, reject, timer: undefined }
    this.#queries.set(queryId, query)
    query.timer = setTimeout(() => {
      this.#queries.delete(queryId)
      reject(new ClusterCountTimeoutError(timeoutMs))
    }, timeoutMs)
    query.timer.unref()
    try {
      const heard = await this.#link.publish(encodeAdapterFrame(nodeId, { kind: 'count', queryId, channel }))
      // every node hears it, this one included
      query.expected = Math.max(0, heard - 1)
      this.#settleIfComplete(queryId, query)
    } catch (err) {
      clearTimeout(query.timer)
      this.#queries.delete(queryId)
      throw err
    }
    return answered
  }

  /** A question from another node, or an answer to one. */
  onFrame (frame: AdapterFrame, from: string): void {
    if (frame.kind === 'count') {
      this.#answer(frame, from)
      return
    }
    if (frame.to !== this.#link.nodeId || typeof frame.queryId !== 'string') return
    const query = this.#queries.get(frame.queryId)
    if (query === undefined) return
    query.answers++
    if (typeof frame.count === 'number' && Number.isInteger(frame.count) && frame.count >= 0) query.total += frame.count
    this.#settleIfComplete(frame.queryId, query)
  }

  /** The adapter closes: every pending question rejects. */
  rejectAll (err: Error): void {
    for (const query of this.#queries.values()) {
      clearTimeout(query.timer)
      query.reject(err)
    }
    this.#queries.clear()
  }

  #settleIfComplete (queryId: string, query: CountQuery): void {
    if (query.expected === undefined || query.answers < query.expected) return
    clearTimeout(query.timer)
    this.#queries.delete(queryId)
    query.resolve(query.total)
  }

  #answer (header: { queryId?: unknown, channel?: unknown }, from: string): void {
    if (typeof header.queryId !== 'string' || typeof header.channel !== 'string') return
    const count = this.#link.localChannelSubscribers(header.channel)
    const answer = encodeAdapterFrame(this.#link.nodeId, { kind: 'counted', queryId: header.queryId, to: from, count })
    this.#link.publish(answer).catch((err: unknown) => this.#link.onAnswerFailed(err))
  }
}
