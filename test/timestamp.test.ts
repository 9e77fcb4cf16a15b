import t from 'tap'
import { isoNow } from '../lib/timestamp.js'

t.test('isoNow: the ISO text of Date.now(), the same string within a millisecond, a new one in the next', async (t) => {
  const realNow = Date.now
  t.teardown(() => { Date.now = realNow })
  let now = Date.UTC(2026, 11, 2, 1, 2, 3, 4)
  Date.now = () => now
  const first = isoNow()
  t.equal(first, '2026-12-02T01:02:03.004Z')
  t.equal(isoNow(), first, 'same millisecond: the cached text')
  now += 1
  t.equal(isoNow(), '2026-12-02T01:02:03.005Z', 'next millisecond: a new text')
  now -= 1
  t.equal(isoNow(), first, 'a clock stepped back: the text of that millisecond again')
  Date.now = realNow
  const before = realNow()
  const live = isoNow()
  const after = realNow()
  t.match(live, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  t.ok(Date.parse(live) >= before && Date.parse(live) <= after, 'the real clock')
})
