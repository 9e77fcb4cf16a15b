import t from 'tap'
import { boundedErrorData } from '../../lib/error-frame.js'
import fc from 'fast-check'
import { clipJsonString, truncateUtf8 } from '../../lib/bounded-text.js'

// The cuts that keep replies and close reasons bounded: the longest prefix
// within the budget, measured exactly as the bytes will be written, never
// through the middle of a character.

const SEED = Number(process.env.FUZZ_SEED ?? 20240901)
const jsonBytes = (text: string): number => Buffer.byteLength(JSON.stringify(text)) - 2
/** Every kind of code unit: ASCII, escapes, 2- and 3-byte characters, pairs and lone surrogates. */
const anyText = fc.string({ unit: fc.oneof(fc.constantFrom('a', '"', '\\', '\n', '\u0001', '\u007f', 'é', '€', '\u2028', '😀', '\ud800', '\udfff'), fc.string({ unit: 'binary', maxLength: 2 })), maxLength: 80 })
const budget = fc.integer({ min: 0, max: 200 })

/** Whether `cut` is `text` or ends between two code points of it (no surrogate pair split). */
function endsOnABoundary (text: string, cut: string): boolean {
  if (!text.startsWith(cut)) return false
  if (cut.length === 0 || cut.length === text.length) return true
  const last = cut.charCodeAt(cut.length - 1)
  const next = text.charCodeAt(cut.length)
  return !(last >= 0xd800 && last <= 0xdbff && next >= 0xdc00 && next <= 0xdfff)
}

t.test('clipJsonString: the longest prefix that fits as written in JSON', async (t) => {
  fc.assert(fc.property(anyText, budget, (text, maxBytes) => {
    const cut = clipJsonString(text, maxBytes)
    if (!endsOnABoundary(text, cut) || jsonBytes(cut) > maxBytes) return false
    if (cut.length === text.length) return true
    // one more code point would not fit
    const step = endsOnABoundary(text, text.slice(0, cut.length + 1)) ? 1 : 2
    return jsonBytes(text.slice(0, cut.length + step)) > maxBytes
  }), { seed: SEED, numRuns: 3000 })
  t.equal(clipJsonString('"'.repeat(100), 10), '"'.repeat(5))
  t.equal(clipJsonString('\u0001'.repeat(100), 13), '\u0001'.repeat(2))
  t.equal(clipJsonString('😀'.repeat(100), 7), '😀')
})

t.test('truncateUtf8: the longest prefix whose UTF-8 fits (a close reason\'s 123 bytes)', async (t) => {
  fc.assert(fc.property(anyText, budget, (text, maxBytes) => {
    const cut = truncateUtf8(text, maxBytes)
    if (!endsOnABoundary(text, cut) || Buffer.byteLength(cut) > maxBytes) return false
    if (cut.length === text.length) return true
    const step = endsOnABoundary(text, text.slice(0, cut.length + 1)) ? 1 : 2
    return Buffer.byteLength(text.slice(0, cut.length + step)) > maxBytes
  }), { seed: SEED, numRuns: 3000 })
  t.equal(truncateUtf8('é€😀'.repeat(40), 123).length, 'é€😀'.repeat(13).length + 2)
  t.equal(truncateUtf8('short', 123), 'short')
})

t.test('an error frame keeps as many reasons as details: reasons without details are dropped', async (t) => {
  t.same(boundedErrorData('CHANNEL_FORBIDDEN', 'no', undefined, { reasons: ['forbidden'] }), { code: 'CHANNEL_FORBIDDEN', message: 'no', reasons: [] })
  t.same(boundedErrorData('CHANNEL_FORBIDDEN', 'no', 'r1', { details: ['review:1'], reasons: ['forbidden', 'extra'] }),
    { code: 'CHANNEL_FORBIDDEN', message: 'no', details: ['review:1'], reasons: ['forbidden'], request_id: 'r1' })
})
