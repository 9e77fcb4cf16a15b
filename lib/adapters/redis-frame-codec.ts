import type { ClusterMessage } from './adapter.js'

/**
 * How cluster messages travel on the Redis channels. A frame is
 * `1\n<nodeId>\n<header JSON>\n<payload>`: the payload is the encoded text as
 * is, never re-encoded. The node id comes first so a node skips its own
 * frames (Redis sends them back) before parsing anything.
 */

/** Wire format version: the first line of every frame. */
export const FRAME_VERSION = '1'

/** The adapter's own frames on the cluster channel: a channel count asked, and answered. */
export type AdapterFrame =
  | { kind: 'count', queryId?: unknown, channel?: unknown }
  | { kind: 'counted', queryId?: unknown, to?: unknown, count?: unknown }

/** What a frame read from Redis holds. */
export type DecodedFrame =
  | { kind: 'message', message: ClusterMessage }
  | { kind: 'adapter', from: string, frame: AdapterFrame }
  | { kind: 'invalid' }

const INVALID: DecodedFrame = { kind: 'invalid' }

/** The start of every frame `nodeId` sends, after the version line: see isFrameFrom(). */
export function senderLine (nodeId: string): string {
  return nodeId + '\n'
}

/** Whether the frame was sent by the node whose senderLine() this is. */
export function isFrameFrom (text: string, line: string): boolean {
  return text.startsWith(line, 2)
}

/**
 * A deliver header carries `publishedAt` (the sending node's clock, `now`)
 * for the receiving node's latency metric; nodes that do not read it ignore it.
 */
export function encodeMessage (nodeId: string, message: ClusterMessage, now: number): string {
  if (message.kind === 'deliver') {
    return `${FRAME_VERSION}\n${nodeId}\n${JSON.stringify({ kind: 'deliver', target: message.target, publishedAt: now })}\n${message.payload}`
  }
  return `${FRAME_VERSION}\n${nodeId}\n${JSON.stringify(message)}\n`
}

export function encodeAdapterFrame (nodeId: string, frame: AdapterFrame): string {
  return `${FRAME_VERSION}\n${nodeId}\n${JSON.stringify(frame)}\n`
}

/** The start of a frame that every node applies, the sending one included (history: every node delivers a stream in one order). */
export const BROADCAST_FRAME_START = `${FRAME_VERSION}\n*\n`

/** Never throws: anything that is not a frame of this version is `invalid`. */
export function decodeFrame (text: string): DecodedFrame {
  const nodeEnd = text.indexOf('\n', 2)
  const headerEnd = nodeEnd === -1 ? -1 : text.indexOf('\n', nodeEnd + 1)
  if (text[0] !== FRAME_VERSION || text[1] !== '\n' || headerEnd === -1) return INVALID
  try {
    const header = JSON.parse(text.slice(nodeEnd + 1, headerEnd)) as (ClusterMessage & { publishedAt?: unknown }) | AdapterFrame
    if (header.kind === 'count' || header.kind === 'counted') {
      return { kind: 'adapter', from: text.slice(2, nodeEnd), frame: header }
    }
    if (header.kind === 'deliver') {
      const message: ClusterMessage = { kind: 'deliver', target: header.target, payload: text.slice(headerEnd + 1) }
      if (typeof header.publishedAt === 'number') message.publishedAt = header.publishedAt
      if (header.seq !== undefined) message.seq = header.seq
      return { kind: 'message', message }
    }
    return { kind: 'message', message: header }
  } catch {
    return INVALID
  }
}
