// A TCP proxy that breaks connections on purpose: every cutEveryMs it takes
// every connection through it and either resets it (both sides closed at
// once) or half-opens it (it stays open, but nothing goes through any more,
// as when a NAT forgets a mapping or a cable is pulled). Each new connection
// goes to the next target in turn, so a client that reconnects lands on
// another node. Not a test file.
import net, { type AddressInfo } from 'node:net'

export interface ChaosProxyOptions {
  /** Ports on 127.0.0.1 the proxy forwards to, in turn. */
  targetPorts: readonly number[]
  /** Every connection open at each tick is broken; 0: only when asked (breakAll). */
  cutEveryMs: number
  /** The share of broken connections that are half-opened rather than reset, in [0, 1]. Default 0. */
  halfOpenRatio?: number
  /** Chance, injectable for a reproducible run. Default Math.random. */
  random?: () => number
}

export interface ChaosStats {
  /** Connections accepted. */
  connections: number
  /** Connections reset (both sides destroyed). */
  resets: number
  /** Connections half-opened (left open, forwarding stopped). */
  halfOpens: number
}

export interface ChaosProxy {
  readonly port: number
  readonly stats: Readonly<ChaosStats>
  /** Stops breaking connections (the ones through it keep working). */
  calm (): void
  /** Breaks every connection now, and while `isDown` refuses new ones (reset at once): a network outage. */
  outage (isDown: boolean, how?: 'reset' | 'halfOpen'): void
  /** Stops everything: the listener and every connection. */
  close (): Promise<void>
}

interface Pair {
  readonly client: net.Socket
  readonly server: net.Socket
  isBroken: boolean
  isHalfOpen: boolean
}

export async function startChaosProxy (options: ChaosProxyOptions): Promise<ChaosProxy> {
  const random = options.random ?? Math.random
  const stats: ChaosStats = { connections: 0, resets: 0, halfOpens: 0 }
  const pairs = new Set<Pair>()
  let nextTarget = 0
  let isDown = false

  const listener = net.createServer((client) => {
    if (isDown) {
      client.on('error', () => {})
      client.resetAndDestroy()
      return
    }
    const port = options.targetPorts[nextTarget++ % options.targetPorts.length] as number
    const server = net.connect(port, '127.0.0.1')
    const pair: Pair = { client, server, isBroken: false, isHalfOpen: false }
    pairs.add(pair)
    stats.connections++
    client.pipe(server)
    server.pipe(client)
    const end = (): void => {
      pairs.delete(pair)
      client.destroy()
      server.destroy()
    }
    client.on('error', end)
    client.on('close', end)
    // a half-open link tells the client nothing: it stays until the client gives up on it
    const serverGone = (): void => { if (pair.isHalfOpen) server.destroy(); else end() }
    server.on('error', serverGone)
    server.on('close', serverGone)
  })

  const breakAll = (choose: () => 'reset' | 'halfOpen'): void => {
    for (const pair of pairs) {
      if (pair.isBroken) continue
      pair.isBroken = true
      if (choose() === 'halfOpen') {
        stats.halfOpens++
        halfOpen(pair)
      } else {
        stats.resets++
        pair.client.resetAndDestroy()
        pair.server.resetAndDestroy()
      }
    }
  }
  const halfOpenRatio = options.halfOpenRatio ?? 0
  const tick = options.cutEveryMs > 0
    ? setInterval(() => breakAll(() => random() < halfOpenRatio ? 'halfOpen' : 'reset'), options.cutEveryMs)
    : undefined

  await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve))
  return {
    port: (listener.address() as AddressInfo).port,
    stats,
    calm: () => clearInterval(tick),
    outage (down, how = 'reset') {
      isDown = down
      if (down) breakAll(() => how)
    },
    async close () {
      clearInterval(tick)
      for (const pair of pairs) { pair.client.destroy(); pair.server.destroy() }
      await new Promise<void>(resolve => listener.close(() => resolve()))
    }
  }
}

/** Nothing goes through any more, both ways; both sockets stay open and read (into nothing). */
function halfOpen (pair: Pair): void {
  pair.isHalfOpen = true
  pair.client.unpipe(pair.server)
  pair.server.unpipe(pair.client)
  pair.client.resume()
  pair.server.resume()
}
