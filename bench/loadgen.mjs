// A load generator: one child process holding a share of the clients,
// driven by the runner over JSON lines on stdin/stdout.
//   KIND=ws        clients are `ws` sockets on ws://HOST:PORT/ws/<jwt>
//   KIND=socketio  clients are socket.io-client sockets, websocket transport only
// Every receipt is stamped with the shared clock (common.mjs now()).
import WebSocket from 'ws'
import { io } from 'socket.io-client'
import { serveControl, now, seqOf, createJwtSigner, EVENT } from './lib/common.mjs'
import { channelsByConnection, channelName } from './lib/channel-plan.mjs'

const KIND = process.env.KIND ?? 'ws'
const PORT = Number(process.env.PORT)
const HOST = '127.0.0.1'
const LG = Number(process.env.LG_INDEX ?? 0)
const SOURCE_ADDRESSES = Number(process.env.SOURCE_ADDRESSES ?? 16)
const HANDSHAKE_TIMEOUT_MS = Number(process.env.HANDSHAKE_TIMEOUT_MS ?? 20_000)

const sign = createJwtSigner()
const clients = []
/** seq -> { count, first, last } */
const receipts = new Map()
let awaiting = null
/** Receipts of every seq together, and who waits for their count to reach a number. */
let totalReceipts = 0
let awaitingTotal = null
/** Channel messages this process's clients get from one publish to every channel. */
let channelSubscriptions = 0
const counters = { unexpectedCloses: 0, errors: 0, errorSample: null, parseErrors: 0, extensions: '' }

// echo state
const pingSent = new Map()
let echo = null

function record (seq, t) {
  let r = receipts.get(seq)
  if (r === undefined) receipts.set(seq, (r = { count: 0, first: t, last: t }))
  r.count++
  if (t < r.first) r.first = t
  if (t > r.last) r.last = t
  totalReceipts++
  if (awaiting !== null && awaiting.seq === seq && r.count >= awaiting.expected) awaiting.done()
  if (awaitingTotal !== null && totalReceipts >= awaitingTotal.expected) awaitingTotal.done()
}

function onReply (c, msg, t) {
  if (msg.type === 'pong') {
    onPong(c, msg, t)
    return
  }
  if (c.waiter !== null && c.waiter.type === msg.type) {
    const w = c.waiter
    c.waiter = null
    w.resolve(msg)
  }
}

function onPong (c, msg, t) {
  const id = msg.data?.pingId
  const sentAt = pingSent.get(id)
  if (sentAt === undefined || echo === null) return
  pingSent.delete(id)
  c.outstanding--
  if (sentAt >= echo.startAt && t <= echo.endAt) {
    echo.roundTrips++
    echo.rtts.push(Math.round((t - sentAt) * 1000)) // µs
  }
  if (t < echo.endAt) sendPing(c)
  else if (pingSent.size === 0 && echo.drained !== null) echo.drained()
}

let nextPingId = LG * 1e9
function sendPing (c) {
  const pingId = nextPingId++
  pingSent.set(pingId, now())
  c.outstanding++
  c.send(JSON.stringify({ type: 'ping', data: { pingId } }))
}

function noteError (err) {
  counters.errors++
  if (counters.errorSample === null) counters.errorSample = String(err?.message ?? err)
}

function openWs (token, localAddress) {
  const c = { open: false, subscribed: false, waiter: null, outstanding: 0, closedByUs: false }
  const ws = new WebSocket(`ws://${HOST}:${PORT}/ws/${token}`, { localAddress, handshakeTimeout: HANDSHAKE_TIMEOUT_MS })
  c.send = (s) => ws.send(s)
  c.close = () => { c.closedByUs = true; ws.terminate() }
  ws.on('message', (data, isBinary) => {
    const t = now()
    const seq = seqOf(data)
    if (seq >= 0) { record(seq, t); return }
    let msg
    try { msg = JSON.parse(isBinary ? data : data.toString()) } catch { counters.parseErrors++; return }
    onReply(c, msg, t)
  })
  ws.on('open', () => {
    c.open = true
    counters.extensions = ws.extensions
  })
  ws.on('error', (err) => {
    noteError(err)
    if (c.waiter !== null) c.waiter.reject(err)
  })
  ws.on('close', (code) => {
    if (c.open && !c.closedByUs) counters.unexpectedCloses++
    c.open = false
    if (c.waiter !== null) c.waiter.reject(new Error(`closed ${code}`))
  })
  return c
}

function openSocketIo (token, localAddress) {
  const c = { open: false, subscribed: false, waiter: null, outstanding: 0, closedByUs: false }
  const s = io(`http://${HOST}:${PORT}`, {
    transports: ['websocket'],
    auth: { token },
    forceNew: true,
    reconnection: false,
    timeout: HANDSHAKE_TIMEOUT_MS,
    localAddress
  })
  c.send = (str) => s.emit('message', JSON.parse(str))
  c.close = () => { c.closedByUs = true; s.disconnect() }
  s.on('message', (msg) => {
    const t = now()
    // a fan-out broadcast or a channel message: both carry the seq marker in data.message
    if (typeof msg?.data?.message === 'string' && msg.data.message.startsWith('#')) {
      const seq = seqOf(`"message":"${msg.data.message.slice(0, 16)}`)
      if (seq >= 0) { record(seq, t); return }
    }
    onReply(c, msg, t)
  })
  s.on('connect', () => { c.open = true })
  s.on('connect_error', (err) => {
    noteError(err)
    if (c.waiter !== null) c.waiter.reject(err)
  })
  s.on('disconnect', (reason) => {
    if (c.open && !c.closedByUs) counters.unexpectedCloses++
    c.open = false
    if (c.waiter !== null) c.waiter.reject(new Error(`disconnected: ${reason}`))
  })
  return c
}

function waitFor (c, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.waiter = null
      reject(new Error(`timeout waiting for ${type}`))
    }, timeoutMs)
    c.waiter = {
      type,
      resolve: (m) => { clearTimeout(timer); resolve(m) },
      reject: (e) => { clearTimeout(timer); c.waiter = null; reject(e) }
    }
  })
}

serveControl({
  /**
   * Opens `count` clients for users from..from+count-1, `concurrency` at a
   * time. `subscribe`: true subscribes each to the fan-out event; a channel
   * plan `{ channels, connections }` subscribes client i to its channels.
   */
  connect: async ({ from, count, concurrency, subscribe, events = [EVENT] }) => {
    const tokens = []
    for (let i = 0; i < count; i++) tokens.push(sign({ sub: `user-${from + i}` }))
    const plan = typeof subscribe === 'object' && subscribe !== null ? channelsByConnection(subscribe) : null
    const handshakes = []
    let failed = 0
    let subscribed = 0
    let subscriptions = 0
    let next = 0
    const startAt = now()
    async function worker () {
      while (next < count) {
        const i = next++
        const localAddress = `127.0.0.${2 + ((from + i) % SOURCE_ADDRESSES)}`
        const t0 = now()
        const c = KIND === 'socketio' ? openSocketIo(tokens[i], localAddress) : openWs(tokens[i], localAddress)
        const established = waitFor(c, 'connection.established', HANDSHAKE_TIMEOUT_MS)
        try {
          await established
          handshakes.push(now() - t0)
          clients.push(c)
          if (plan !== null) {
            const channels = plan[from + i].map(channelName)
            // a subscribe carries at most 100 names
            for (let k = 0; k < channels.length; k += 100) {
              const confirmed = waitFor(c, 'subscription.confirmed', HANDSHAKE_TIMEOUT_MS)
              c.send(JSON.stringify({ type: 'subscribe', data: { channels: channels.slice(k, k + 100) } }))
              await confirmed
            }
            c.subscribed = true
            subscribed++
            subscriptions += channels.length
            channelSubscriptions += channels.length
          } else if (subscribe) {
            const confirmed = waitFor(c, 'subscription.confirmed', HANDSHAKE_TIMEOUT_MS)
            c.send(JSON.stringify({ type: 'subscribe', data: { events } }))
            await confirmed
            c.subscribed = true
            subscribed++
            subscriptions++
          }
        } catch (err) {
          failed++
          noteError(err)
          try { c.close() } catch {}
        }
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker))
    return { established: handshakes.length, failed, subscribed, subscriptions, handshakes, startAt, endAt: now(), open: clients.filter((c) => c.open).length }
  },

  /** Resolves when this process's clients got `passes` publishes to every channel they are in, or at the timeout. */
  awaitChannels: async ({ passes, timeoutMs }) => {
    const expected = channelSubscriptions * passes
    if (totalReceipts < expected) {
      await new Promise((resolve) => {
        const timer = setTimeout(() => { awaitingTotal = null; resolve() }, timeoutMs)
        awaitingTotal = { expected, done: () => { clearTimeout(timer); awaitingTotal = null; resolve() } }
      })
    }
    return { received: totalReceipts, expected }
  },

  /** Resolves when every open client of this process got broadcast `seq`, or at the timeout. */
  await: async ({ seq, expected, timeoutMs }) => {
    const want = expected ?? clients.filter((c) => c.subscribed).length
    const r0 = receipts.get(seq)
    if (want > 0 && (r0 === undefined || r0.count < want)) {
      await new Promise((resolve) => {
        const timer = setTimeout(() => { awaiting = null; resolve() }, timeoutMs)
        awaiting = { seq, expected: want, done: () => { clearTimeout(timer); awaiting = null; resolve() } }
      })
    }
    const r = receipts.get(seq) ?? { count: 0, first: NaN, last: NaN }
    return { seq, count: r.count, expected: want, first: r.first, last: r.last }
  },

  /** Everything received so far, per seq (for the final loss count). */
  receipts: () => ({ receipts: Object.fromEntries(receipts), clients: clients.length, open: clients.filter((c) => c.open).length }),

  /** Every client keeps `outstanding` pings in flight for `durationMs`. */
  echo: async ({ durationMs, outstanding }) => {
    const startAt = now()
    echo = { startAt, endAt: startAt + durationMs, roundTrips: 0, rtts: [], drained: null }
    for (const c of clients) for (let k = 0; k < outstanding; k++) sendPing(c)
    await new Promise((resolve) => setTimeout(resolve, durationMs))
    if (pingSent.size > 0) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 5000)
        echo.drained = () => { clearTimeout(timer); resolve() }
      })
    }
    const result = { roundTrips: echo.roundTrips, rtts: echo.rtts, startAt, endAt: echo.endAt, lost: pingSent.size }
    echo = null
    pingSent.clear()
    return result
  },

  stats: () => ({ clients: clients.length, open: clients.filter((c) => c.open).length, ...counters }),

  close: async () => {
    for (const c of clients) c.close()
    clients.length = 0
    return {}
  },

  exit: () => { setImmediate(() => process.exit(0)); return {} }
}, { maxLifeMs: Number(process.env.MAX_LIFE_MS ?? 15 * 60_000) })

process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, kind: KIND }) + '\n')
