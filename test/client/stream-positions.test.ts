import t from 'tap'
import { StreamPositions } from '../../lib/client/stream-positions.js'

const at = (epoch: string, offset: number) => ({ epoch, offset })

t.test('a stream starts at the server\'s top; the next offset is taken, a seen one dropped, a jump is a gap', async (t) => {
  const positions = new StreamPositions()
  positions.serverTop('review:1', at('E', 4))
  t.same(positions.receive([['review:1', 5]]), { isSeen: false, isTaken: true, gaps: [] })
  t.same(positions.receive([['review:1', 5]]), { isSeen: true, isTaken: false, gaps: [] }, 'a duplicate')
  t.same(positions.receive([['review:1', 3]]), { isSeen: false, isTaken: false, gaps: [] }, 'from before the stream started here: not taken')
  t.same(positions.receive([['review:1', 8]]), { isSeen: false, isTaken: false, gaps: [{ stream: 'review:1', offset: 8 }] })
  t.same(positions.snapshot(), { 'review:1': at('E', 5) }, 'a gap does not move the position')
})

t.test('while a recovery runs, jumps are dropped quietly and the replay is taken in order', async (t) => {
  const positions = new StreamPositions({ inbox: at('E', 10) })
  t.same(positions.beginRecovery('inbox'), at('E', 10))
  t.ok(positions.isRecovering('inbox'))
  positions.serverTop('inbox', at('E', 13))
  t.same(positions.snapshot(), { inbox: at('E', 10) }, 'the same epoch keeps the client\'s position')
  t.same(positions.receive([['inbox', 14]]), { isSeen: false, isTaken: false, gaps: [] }, 'a live message ahead of the replay')
  for (const offset of [11, 12, 13, 14]) t.equal(positions.receive([['inbox', offset]]).isTaken, true)
  t.same(positions.settle('inbox', { recovered: true, missed: 4 }), { recovered: true, missed: 4 })
  t.notOk(positions.isRecovering('inbox'))
  t.same(positions.receive([['inbox', 16]]).gaps, [{ stream: 'inbox', offset: 16 }], 'gap detection is back')
})

t.test('a recovery said complete that leaves the client below the top it was told is a gap', async (t) => {
  const positions = new StreamPositions({ 'lobby:1': at('E', 1) })
  positions.beginRecovery('lobby:1')
  positions.serverTop('lobby:1', at('E', 3))
  positions.receive([['lobby:1', 2]])
  t.same(positions.settle('lobby:1', { recovered: true, missed: 1 }), { recovered: false, reason: 'gap' })
  t.same(positions.snapshot(), { 'lobby:1': at('E', 3) }, 'it resumes at the top')
})

t.test('another epoch: the client starts over at the new top', async (t) => {
  const positions = new StreamPositions({ 'review:1': at('old', 40) })
  positions.beginRecovery('review:1')
  positions.serverTop('review:1', at('new', 2))
  t.same(positions.snapshot(), { 'review:1': at('new', 2) })
  t.equal(positions.receive([['review:1', 3]]).isTaken, true, 'the new epoch\'s offsets are not taken for duplicates')
  t.same(positions.settle('review:1', { recovered: false, reason: 'epoch_changed' }), { recovered: false, reason: 'epoch_changed' })
  t.same(positions.snapshot(), { 'review:1': at('new', 3) })
})

t.test('a failed recovery resumes at the position the server gives, else its top, else the next message', async (t) => {
  const positions = new StreamPositions({ a: at('E', 1), b: at('E', 1), c: at('E', 1) })
  for (const stream of ['a', 'b', 'c']) positions.beginRecovery(stream)
  positions.serverTop('b', at('E', 500))
  t.same(positions.settle('a', { recovered: false, reason: 'too_old', position: at('E', 900) }), { recovered: false, reason: 'too_old' })
  positions.settle('b', { recovered: false, reason: 'too_many' })
  positions.settle('c', { recovered: false, reason: 'unavailable' })
  t.same(positions.snapshot(), { a: at('E', 900), b: at('E', 500), c: at('E', 1) })
  t.equal(positions.receive([['c', 77]]).isTaken, true, 'c takes whatever comes next as its baseline')
  t.same(positions.receive([['c', 79]]).gaps, [{ stream: 'c', offset: 79 }], 'and detects gaps from there')
  t.same(positions.receive([['a', 902]]).gaps, [{ stream: 'a', offset: 902 }])
})

t.test('no_history and forbidden forget the stream; an unasked epoch change moves it', async (t) => {
  const positions = new StreamPositions({ a: at('E', 1), b: at('E', 1), c: at('E', 5) })
  positions.settle('a', { recovered: false, reason: 'no_history' })
  positions.settle('b', { recovered: false, reason: 'forbidden' })
  positions.settle('c', { recovered: false, reason: 'epoch_changed', position: at('F', 0) })
  positions.settle('unknown', { recovered: false, reason: 'epoch_changed', position: at('F', 0) })
  t.same(positions.snapshot(), { c: at('F', 0) })
})

t.test('a message in two streams: seen in either is dropped (the other still advances); a gap in one does not hold the other', async (t) => {
  const positions = new StreamPositions({ 'review:1': at('E', 10), inbox: at('I', 19) })
  positions.receive([['inbox', 20]])
  t.same(positions.receive([['review:1', 11], ['inbox', 20]]), { isSeen: true, isTaken: true, gaps: [] })
  t.same(positions.snapshot(), { 'review:1': at('E', 11), inbox: at('I', 20) })
  t.same(positions.receive([['review:1', 13], ['inbox', 21]]), { isSeen: false, isTaken: true, gaps: [{ stream: 'review:1', offset: 13 }] })
  positions.beginRecovery('review:1')
  positions.receive([['review:1', 12]])
  t.same(positions.receive([['review:1', 13], ['inbox', 21]]), { isSeen: true, isTaken: true, gaps: [] },
    'replayed by the channel, it was delivered through the inbox already')
})

t.test('what a stream skipped is not "seen": another stream of the message still delivers it', async (t) => {
  const positions = new StreamPositions({ 'review:1': at('E', 10), inbox: at('I', 20) })
  positions.beginRecovery('inbox')
  positions.settle('inbox', { recovered: false, reason: 'too_old', position: at('I', 90) })
  t.same(positions.receive([['review:1', 11], ['inbox', 85]]), { isSeen: false, isTaken: true, gaps: [] },
    'the inbox never had 85: the channel\'s replay delivers it')
  t.same(positions.receive([['inbox', 15]]), { isSeen: false, isTaken: false, gaps: [] }, 'below where it started: not taken either')
  positions.skipTo('review:1', 20)
  t.same(positions.receive([['review:1', 15], ['inbox', 91]]), { isSeen: false, isTaken: true, gaps: [] }, 'nor what a skip jumped over')
  t.same(positions.receive([['review:1', 20]]), { isSeen: true, isTaken: false, gaps: [] }, 'the message skipped to was delivered')
})

t.test('offsets before any position: taken, no epoch (nothing to recover from) until the server tells it', async (t) => {
  const positions = new StreamPositions({ bad: { epoch: 3, offset: 'x' } as never })
  t.same(positions.snapshot(), {}, 'a malformed initial position is ignored')
  t.equal(positions.receive([['upload:9', 7]]).isTaken, true)
  t.same(positions.snapshot(), {})
  t.equal(positions.beginRecovery('upload:9'), undefined)
  positions.serverTop('upload:9', at('E', 6))
  t.same(positions.snapshot(), { 'upload:9': at('E', 7) }, 'what was delivered stays delivered')
  positions.serverTop('upload:9', { epoch: '', offset: -1 })
  t.same(positions.snapshot(), { 'upload:9': at('E', 7) }, 'a malformed top is ignored')
})

t.test('a lost connection ends the recoveries in flight; forget drops a stream', async (t) => {
  const positions = new StreamPositions({ a: at('E', 1) })
  positions.beginRecovery('a')
  positions.connectionLost()
  t.notOk(positions.isRecovering('a'))
  t.same(positions.receive([['a', 3]]).gaps, [{ stream: 'a', offset: 3 }])
  positions.skipTo('a', 3)
  positions.skipTo('a', 2)
  positions.skipTo('gone', 2)
  t.same(positions.snapshot(), { a: at('E', 3) })
  positions.forget('a')
  t.same(positions.snapshot(), {})
})
