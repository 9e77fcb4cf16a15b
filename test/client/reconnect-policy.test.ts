// The reconnect policy alone: pure functions of the close code, the
// preflight's verdict and the attempt count (no sockets, no timers).
import t from 'tap'
import { CloseCode, ClientErrorCode, RealtimeClientError } from '../../lib/client/index.js'
import { afterClose, afterPreflight, afterTokenFailure, attemptAfterLoss, nextAttempt } from '../../lib/client/reconnect-policy.js'

const backoff = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 }
const limits = { reconnect: true, maxReconnectAttempts: Infinity, backoff }
const lost = new RealtimeClientError(ClientErrorCode.connectionLost, 'connection attempt failed (1006)', { closeCode: 1006 })

t.test('a close code that forbids reconnecting stops, open or not', async (t) => {
  for (const code of [CloseCode.policyViolation, 4500, 4999]) {
    for (const wasOpen of [true, false]) {
      const decision = afterClose({ code, reason: 'banned', wasOpen })
      t.equal(decision.action, 'stop', `${code}, wasOpen ${wasOpen}`)
      t.match(decision.error, { code: ClientErrorCode.closedByServer, closeCode: code, message: `the server closed the connection with ${code} (banned); not reconnecting` })
    }
  }
  t.equal(afterClose({ code: 4500, reason: '', wasOpen: true }).error.message, 'the server closed the connection with 4500; not reconnecting', 'no reason: no parentheses')
})

t.test('a lost open connection retries: at once after 4001, over the first step after 1001, by backoff otherwise', async (t) => {
  t.same(afterClose({ code: CloseCode.tokenExpired, reason: 'token expired', wasOpen: true }), {
    action: 'retry',
    error: new RealtimeClientError(ClientErrorCode.connectionLost, 'connection lost (4001: token expired)', { closeCode: 4001 }),
    how: { delayMs: 0 }
  })
  t.match(afterClose({ code: CloseCode.goingAway, reason: '', wasOpen: true }), { action: 'retry', how: { isFirstStep: true }, error: { message: 'connection lost (1001)', closeCode: 1001 } })
  for (const code of [1005, 1006, 1011, 1015, 4000, 4499]) {
    t.match(afterClose({ code, reason: '', wasOpen: true }), { action: 'retry', how: {} }, `${code}`)
  }
  const cause = new RealtimeClientError(ClientErrorCode.heartbeatTimeout, 'no pong within 100 ms')
  t.equal(afterClose({ code: CloseCode.heartbeatTimeout, reason: 'heartbeat timeout', wasOpen: true, cause }).error, cause, 'the client\'s own reason is reported as is')
})

t.test('a failed attempt is explained by asking the server', async (t) => {
  t.same(afterClose({ code: 1006, reason: '', wasOpen: false }), { action: 'explain', error: lost })
  const cause = new RealtimeClientError(ClientErrorCode.connectionLost, 'no connection.established within 10 ms')
  t.same(afterClose({ code: 1006, reason: 'connect timeout', wasOpen: false, cause }), { action: 'explain', error: cause })
})

t.test('the verdict of the preflight decides after a failed attempt', async (t) => {
  const unauthorized = { kind: 'unauthorized', statusCode: 401, message: 'jwt expired' } as const
  t.match(afterPreflight(unauthorized, lost, true), {
    action: 'retry', isFreshTokenRetry: true, how: { delayMs: 0, countsAsAttempt: false }, error: { code: ClientErrorCode.unauthorized, statusCode: 401, message: 'jwt expired', cause: lost }
  }, 'a token function gets one more chance at once')
  t.match(afterPreflight(unauthorized, lost, false), { action: 'stop', error: { code: ClientErrorCode.unauthorized, statusCode: 401, message: 'the server refused the token: jwt expired' } })
  t.match(afterPreflight({ kind: 'refused', statusCode: 403, message: 'origin' }, lost, true), {
    action: 'stop', error: { code: ClientErrorCode.refused, statusCode: 403, message: 'the server refused the connection (403): origin' }
  })
  t.same(afterPreflight({ kind: 'busy', statusCode: 503, message: 'full', retryAfterMs: 2000 }, lost, true).action, 'retry')
  t.match(afterPreflight({ kind: 'busy', statusCode: 429, message: 'slow down', retryAfterMs: 2000 }, lost, true), {
    how: { extraSteps: 2, minDelayMs: 2000 }, error: { code: ClientErrorCode.connectionLost, statusCode: 429, message: 'the server is busy (429): slow down' }
  })
  t.same((afterPreflight({ kind: 'busy', statusCode: 503, message: 'full', retryAfterMs: undefined }, lost, true) as { how: unknown }).how, { extraSteps: 2 }, 'no Retry-After: no floor')
  const refusedTcp = new Error('connect ECONNREFUSED')
  t.match(afterPreflight({ kind: 'unreachable', message: 'the server did not answer', cause: refusedTcp }, lost, true), {
    action: 'retry', how: {}, error: { code: ClientErrorCode.connectionLost, message: 'the server is unreachable: connect ECONNREFUSED', cause: refusedTcp }
  })
  t.same(afterPreflight({ kind: 'unreachable', message: 'x', cause: 'down' }, lost, true).error.message, 'the server is unreachable: down', 'a thrown non-Error is its text')
  t.same(afterPreflight({ kind: 'transient', statusCode: 426, message: 'upgrade' }, lost, true), { action: 'retry', error: lost, how: {} })
  t.same(afterPreflight({ kind: 'unknown', message: 'no fetch' }, lost, false), { action: 'retry', error: lost, how: {} })
})

t.test('a failing token function: UNAUTHORIZED from it stops, anything else is retried', async (t) => {
  const loggedOut = new RealtimeClientError(ClientErrorCode.unauthorized, 'logged out')
  t.same(afterTokenFailure(loggedOut), { action: 'stop', error: loggedOut })
  const down = new Error('token endpoint down')
  t.match(afterTokenFailure(down), { action: 'retry', how: {}, error: { code: ClientErrorCode.tokenUnavailable, message: 'could not get a token: token endpoint down', cause: down } })
  t.match(afterTokenFailure(new RealtimeClientError(ClientErrorCode.refused, 'other')), { action: 'retry' }, 'only UNAUTHORIZED stops')
})

t.test('the next attempt: its delay from the backoff, and the count after it', async (t) => {
  const half = (): number => 0.5
  t.same(nextAttempt(0, {}, lost, limits, half), { action: 'wait', delayMs: 50, attempt: 1 })
  t.same(nextAttempt(3, {}, lost, limits, half), { action: 'wait', delayMs: 400, attempt: 4 })
  t.same(nextAttempt(3, { isFirstStep: true }, lost, limits, half), { action: 'wait', delayMs: 50, attempt: 4 }, 'first step whatever the count')
  t.same(nextAttempt(1, { extraSteps: 2 }, lost, limits, half), { action: 'wait', delayMs: 400, attempt: 2 }, 'two steps further up')
  t.same(nextAttempt(0, { minDelayMs: 700 }, lost, limits, half), { action: 'wait', delayMs: 700, attempt: 1 }, 'a floor')
  t.same(nextAttempt(5, { delayMs: 0, countsAsAttempt: false }, lost, limits, half), { action: 'wait', delayMs: 0, attempt: 5 }, 'exact delay, not counted')
})

t.test('the next attempt stops when reconnecting is off or the attempts ran out', async (t) => {
  t.same(nextAttempt(0, {}, lost, { ...limits, reconnect: false }, Math.random), { action: 'stop', error: lost })
  const gaveUp = nextAttempt(3, {}, lost, { ...limits, maxReconnectAttempts: 3 }, Math.random)
  t.match(gaveUp, { action: 'stop', error: { code: ClientErrorCode.reconnectFailed, message: 'gave up after 3 failed attempts: connection attempt failed (1006)', cause: lost } })
  t.equal(nextAttempt(2, {}, lost, { ...limits, maxReconnectAttempts: 3 }, () => 0).action, 'wait')
  t.equal(nextAttempt(0, {}, lost, { ...limits, maxReconnectAttempts: 0 }, () => 0).action, 'stop', 'zero: never reconnect')
})

t.test('a connection that stayed open stableAfterMs resets the count', async (t) => {
  t.equal(attemptAfterLoss(4, 1000, 11_000, 10_000), 0)
  t.equal(attemptAfterLoss(4, 1000, 10_999, 10_000), 4)
  t.equal(attemptAfterLoss(4, undefined, 1e9, 10_000), 4, 'never opened')
})
