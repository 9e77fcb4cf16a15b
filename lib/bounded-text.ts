/**
 * Cuts text that came from a client (or a host) to a byte budget before the
 * server puts it in a frame, always between two characters: never inside a
 * UTF-8 sequence or a surrogate pair, so what is left is valid text.
 */

/** The most bytes a close frame's reason may have (RFC 6455: 125 minus the 2-byte code). */
export const MAX_CLOSE_REASON_BYTES = 123

/** The longest prefix of `text` whose UTF-8 encoding fits `maxBytes` (a lone surrogate counts as U+FFFD, 3 bytes). */
export function truncateUtf8 (text: string, maxBytes: number): string {
  // a UTF-16 code unit is at most 3 UTF-8 bytes: count only when it could matter
  if (text.length * 3 <= maxBytes) return text
  let bytes = 0
  let i = 0
  while (i < text.length) {
    const unit = text.charCodeAt(i)
    const isPair = isHighSurrogate(unit) && isLowSurrogate(text.charCodeAt(i + 1))
    const size = isPair ? 4 : (unit < 0x80 ? 1 : (unit < 0x800 ? 2 : 3))
    if (bytes + size > maxBytes) break
    bytes += size
    i += isPair ? 2 : 1
  }
  return text.slice(0, i)
}

/**
 * The longest prefix of `text` that takes at most `maxBytes` once written
 * inside a JSON string (escapes counted as JSON.stringify writes them), so
 * that a key full of quotes or control characters cannot double or
 * sextuple on its way back to the client.
 */
export function clipJsonString (text: string, maxBytes: number): string {
  // the worst case is 6 bytes a code unit (\u0001, a lone surrogate)
  if (text.length * 6 <= maxBytes) return text
  let bytes = 0
  let i = 0
  while (i < text.length) {
    const unit = text.charCodeAt(i)
    const isPair = isHighSurrogate(unit) && isLowSurrogate(text.charCodeAt(i + 1))
    const size = isPair ? 4 : jsonUnitBytes(unit)
    if (bytes + size > maxBytes) break
    bytes += size
    i += isPair ? 2 : 1
  }
  return text.slice(0, i)
}

/** Bytes one code unit (not part of a surrogate pair) takes inside a JSON string. */
function jsonUnitBytes (unit: number): number {
  if (unit === 0x22 || unit === 0x5c) return 2 // \" and \\
  if (unit < 0x20) return SHORT_ESCAPES.has(unit) ? 2 : 6 // \n or \u0001
  if (unit < 0x80) return 1
  if (unit < 0x800) return 2
  if (isHighSurrogate(unit) || isLowSurrogate(unit)) return 6 // a lone surrogate is written \udXXX
  return 3
}

/** \b \t \n \f \r */
const SHORT_ESCAPES = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d])

function isHighSurrogate (unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff
}

function isLowSurrogate (unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff
}
