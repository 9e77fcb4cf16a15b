import { clipJsonString } from './bounded-text.js'

/** An error frame's `message` is cut to this many bytes (as written in JSON): it may quote the client's own keys. */
export const MAX_ERROR_TEXT_BYTES = 256
/** `details` (the refused events of INVALID_EVENT) are cut to this many bytes in all, each entry to a quarter of it. */
export const MAX_ERROR_DETAILS_BYTES = 256
const MAX_DETAIL_BYTES = MAX_ERROR_DETAILS_BYTES / 4

export interface ErrorExtra {
  retry_after?: number
  details?: string[]
  /** CHANNEL_FORBIDDEN: why each channel in `details` was refused (the host's authorize reasons). */
  reasons?: string[]
}

export interface BoundedErrorData extends ErrorExtra {
  code: string
  message: string
  request_id?: string
}

/** The `data` of an error frame, every part built from client input cut to its budget. */
export function boundedErrorData (code: string, message: string, requestId: string | undefined, extra: ErrorExtra | undefined): BoundedErrorData {
  const data: BoundedErrorData = { code, message: clipJsonString(message, MAX_ERROR_TEXT_BYTES) }
  if (extra?.retry_after !== undefined) data.retry_after = extra.retry_after
  if (extra?.details !== undefined) data.details = boundedDetails(extra.details)
  // as many reasons as details were kept, so the two lists stay aligned
  if (extra?.reasons !== undefined) data.reasons = boundedDetails(extra.reasons).slice(0, data.details?.length ?? 0)
  // request ids are at most 128 characters (the router echoes no longer one)
  if (requestId !== undefined) data.request_id = requestId
  return data
}

function boundedDetails (details: readonly string[]): string[] {
  const kept: string[] = []
  let bytes = 0
  for (const detail of details) {
    const clipped = clipJsonString(detail, MAX_DETAIL_BYTES)
    bytes += Buffer.byteLength(JSON.stringify(clipped)) + 1
    if (bytes > MAX_ERROR_DETAILS_BYTES) break
    kept.push(clipped)
  }
  return kept
}

/**
 * Encodes an error frame that fits `maxBytes`: if the bounded frame is still
 * too big (a small maxMessageSize, a long request id), `details` go and the
 * text is cut to what is left, keeping what a client acts on (code,
 * request_id, retry_after). Undefined only if even that cannot fit, which
 * maxMessageSize's minimum rules out.
 */
export function encodeErrorFrame (encode: (type: string, data: unknown) => string, maxBytes: number, data: BoundedErrorData): string | undefined {
  const full = tryEncode(encode, data)
  if (full !== undefined) return full
  const bare: BoundedErrorData = { ...data, message: '' }
  delete bare.details
  delete bare.reasons
  const bareText = tryEncode(encode, bare)
  /* c8 ignore next */ // code, a 128-character request id and retry_after fit maxMessageSize's minimum
  if (bareText === undefined) return undefined
  // the envelope's timestamp and id have fixed lengths: the text may take exactly what is left
  bare.message = clipJsonString(data.message, maxBytes - Buffer.byteLength(bareText))
  return tryEncode(encode, bare)
}

function tryEncode (encode: (type: string, data: unknown) => string, data: BoundedErrorData): string | undefined {
  try {
    return encode('error', data)
  } catch {
    return undefined
  }
}
