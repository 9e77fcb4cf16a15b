import type { ClusterMessage } from './adapter.js'

/**
 * How cluster messages travel on the Redis channels. A frame is
 * `1\n<nodeId>\n<body>`, its body `<header JSON>\n<payload>`: the payload is
 * the encoded text as is, never re-encoded. The node id comes first so a
 * node skips its own frames (Redis sends them back) before parsing anything.
 *
 * A batch carries the frames one node published to one Redis channel in one
 * event-loop turn, in their order: `2\n<nodeId>\n` then, per frame,
 * `<length of its body>\n<body>`. One PUBLISH and one message for the
 * receivers instead of one per frame. Lengths count UTF-16 code units, as
 * both ends read the text as a JavaScript string.
 */

/** Wire format version: the first line of every frame. */
export const FRAME_VERSION = '1'
/** The first line of a batch of frames. */
export const BATCH_VERSION = '2'

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
/** A body length has at most this many digits (a Redis message is at most 512 MB). */
const MAX_LENGTH_DIGITS = 10

/** The start of every frame `nodeId` sends, after the version line: see isFrameFrom(). */
export function senderLine (nodeId: string): string {
  return nodeId + '\n'
}

/** Whether the frame (or batch) was sent by the node whose senderLine() this is. */
export function isFrameFrom (text: string, line: string): boolean {
  return text.startsWith(line, 2)
}

/**
 * A frame's body. A deliver header carries `publishedAt` (the sending node's
 * clock, `now`) for the receiving node's latency metric; nodes that do not
 * read it ignore it.
 */
export function encodeBody (message: ClusterMessage, now: number): string {
  if (message.kind === 'deliver') {
    return `${JSON.stringify({ kind: 'deliver', target: message.target, publishedAt: now })}\n${message.payload}`
  }
  return `${JSON.stringify(message)}\n`
}

export function encodeMessage (nodeId: string, message: ClusterMessage, now: number): string {
  return frameOf(nodeId, encodeBody(message, now))
}

/** One body as a frame of its own. */
export function frameOf (nodeId: string, body: string): string {
  return `${FRAME_VERSION}\n${nodeId}\n${body}`
}

/** Bodies in their order, as one batch; a single body is sent as a plain frame (readable by every version). */
export function encodeBatch (nodeId: string, bodies: readonly string[]): string {
  if (bodies.length === 1) return frameOf(nodeId, bodies[0] as string)
  let text = `${BATCH_VERSION}\n${nodeId}\n`
  for (const body of bodies) text += `${body.length}\n${body}`
  return text
}

export function encodeAdapterFrame (nodeId: string, frame: AdapterFrame): string {
  return frameOf(nodeId, `${JSON.stringify(frame)}\n`)
}

/** The start of a frame that every node applies, the sending one included (history: every node delivers a stream in one order). */
export const BROADCAST_FRAME_START = `${FRAME_VERSION}\n*\n`

/** Never throws: anything that is not a frame of this version is `invalid`. */
export function decodeFrame (text: string): DecodedFrame {
  const nodeEnd = text.indexOf('\n', 2)
  if (text[0] !== FRAME_VERSION || text[1] !== '\n' || nodeEnd === -1) return INVALID
  return decodeBody(text, text.slice(2, nodeEnd), nodeEnd + 1, text.length)
}

/**
 * A frame or a batch, as the frames it holds, in order. Never throws: a
 * batch whose lengths do not add up is one `invalid`, a body that does not
 * parse is `invalid` in its place.
 */
export function decodeFrames (text: string): DecodedFrame[] {
  if (text[0] !== BATCH_VERSION) return [decodeFrame(text)]
  const nodeEnd = text.indexOf('\n', 2)
  if (text[1] !== '\n' || nodeEnd === -1) return [INVALID]
  const from = text.slice(2, nodeEnd)
  const frames: DecodedFrame[] = []
  // the frames of a batch mostly repeat one header (one target, publishedAt within a millisecond)
  const headers: HeaderCache = { text: undefined, parsed: undefined }
  let at = nodeEnd + 1
  while (at < text.length) {
    const lengthEnd = text.indexOf('\n', at)
    if (lengthEnd === -1 || lengthEnd === at || lengthEnd - at > MAX_LENGTH_DIGITS) return [INVALID]
    let length = 0
    for (let i = at; i < lengthEnd; i++) {
      const digit = text.charCodeAt(i) - 48
      if (digit < 0 || digit > 9) return [INVALID]
      length = length * 10 + digit
    }
    const end = lengthEnd + 1 + length
    if (end > text.length) return [INVALID]
    frames.push(decodeBody(text, from, lengthEnd + 1, end, headers))
    at = end
  }
  return frames.length === 0 ? [INVALID] : frames
}

type Header = (ClusterMessage & { publishedAt?: unknown }) | AdapterFrame | null

/** The last header a batch's decode parsed: the next frame with the same text reuses it. */
interface HeaderCache { text: string | undefined, parsed: Header | undefined }

/**
 * The body at text[start, end) of a frame from `from`. A delivery header
 * whose text is the one `cache` holds is not parsed again: the decoded
 * messages share its target, which nothing modifies.
 */
function decodeBody (text: string, from: string, start: number, end: number, cache?: HeaderCache): DecodedFrame {
  const headerEnd = text.indexOf('\n', start)
  if (headerEnd === -1 || headerEnd >= end) return INVALID
  try {
    const headerText = text.slice(start, headerEnd)
    let header: Header
    if (cache !== undefined && cache.text === headerText) {
      header = cache.parsed as Header
    } else {
      header = JSON.parse(headerText) as Header
      // only a plain delivery's header is shared (the others become messages of their own, whole)
      if (cache !== undefined && header?.kind === 'deliver' && header.seq === undefined) {
        cache.text = headerText
        cache.parsed = header
      }
    }
    if (typeof header !== 'object' || header === null) return INVALID
    if (header.kind === 'count' || header.kind === 'counted') return { kind: 'adapter', from, frame: header }
    if (header.kind === 'deliver') {
      const message: ClusterMessage = { kind: 'deliver', target: header.target, payload: text.slice(headerEnd + 1, end) }
      if (typeof header.publishedAt === 'number') message.publishedAt = header.publishedAt
      if (header.seq !== undefined) message.seq = header.seq
      return { kind: 'message', message }
    }
    return { kind: 'message', message: header }
  } catch {
    return INVALID
  }
}
