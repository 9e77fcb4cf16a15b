/**
 * Coalesces what one synchronous run of the event loop writes to a socket
 * into one syscall. ws writes every frame as soon as it is sent, and ws sets
 * TCP_NODELAY, so a burst to one socket (32 pongs answering the pings that
 * arrived in one TCP read, a batch of channel messages from another node, a
 * publish loop reaching one member through several channels) costs one
 * `writev` and one TCP segment per frame. The second write to a socket
 * within a run corks it; every corked socket is uncorked in one
 * `process.nextTick`, before the loop goes back to I/O, so nothing waits
 * for a later turn and the order of the frames is the order of the sends.
 * (A nextTick runs once the microtasks are done: sends awaited one after
 * another in a loop of settled promises are one run, held back at most
 * COALESCE_MAX_BYTES at a time.)
 * The first write of a run is never corked: a broadcast (one frame per
 * socket) goes out as before, with no cork, no uncork and no list to keep.
 */

/** The part of a net.Socket the coalescer uses. */
export interface CorkableSocket {
  cork (): void
  uncork (): void
}

/** A writer that may be corked until the end of the run (a Connection). */
export interface Coalesced {
  /** The run of the loop this writer last wrote in ({@link currentRun}). */
  lastWriteRun: number
  /** The socket the coalescer corked, or undefined while it is not corked. */
  corkedSocket: CorkableSocket | undefined
}

/**
 * Past this many corked bytes a connection's frames go to the kernel at its
 * next send (lib/connection.ts): one writev of 64 KiB costs little more per
 * byte than a bigger one, and a burst awaited in a loop of promises (which
 * never lets the nextTick run) must not pile up in memory.
 */
export const COALESCE_MAX_BYTES = 64 * 1024

let run = 0
let flushScheduled = false
const corked: Coalesced[] = []

/** The number of the current synchronous run; it changes when the corked sockets are flushed. */
function currentRun (): number {
  if (!flushScheduled) {
    // the next write in this run needs a flush to follow it, whether or not it corks
    flushScheduled = true
    process.nextTick(flush)
  }
  return run
}

/**
 * Called before a write to `socket`: the first write of this run goes
 * straight out, a later one corks the socket until the flush.
 */
export function beforeWrite (writer: Coalesced, socket: CorkableSocket): void {
  const now = currentRun()
  if (writer.lastWriteRun !== now) {
    writer.lastWriteRun = now
    return
  }
  if (writer.corkedSocket !== undefined) return
  socket.cork()
  writer.corkedSocket = socket
  corked.push(writer)
}

/**
 * Hands what a writer has corked to the kernel now. Before a backpressure
 * check: corked bytes are not a sign of a slow reader, only what the
 * kernel does not take is. The writer stays in this run's list (the flush
 * skips it) and corks again at its next write of the run.
 */
export function uncorkNow (writer: Coalesced): void {
  const socket = writer.corkedSocket
  if (socket === undefined) return
  writer.corkedSocket = undefined
  socket.uncork()
}

function flush (): void {
  flushScheduled = false
  run++
  // a socket corked during the flush (a write from an 'error' or 'drain'
  // listener) belongs to the next run and schedules its own flush
  const count = corked.length
  for (let i = 0; i < count; i++) {
    const writer = corked[i] as Coalesced
    const socket = writer.corkedSocket
    // uncorked already (uncorkNow), perhaps corked again and listed again
    if (socket === undefined) continue
    writer.corkedSocket = undefined
    try {
      socket.uncork()
    /* c8 ignore start */ // net.Socket#uncork does not throw (a write error is emitted as 'error'); this runs in a tick, where a throw would end the process
    } catch {}
    /* c8 ignore stop */
  }
  corked.splice(0, count)
}
