import type { FastifyBaseLogger } from 'fastify'
import type { ConnectionInfo } from '../connection.js'
import type { ParsedChannel } from './names.js'
import type { ChannelAuthorizeContext, ChannelAuthorizeResult, ChannelNamespaceOptions } from './namespace.js'

/** A channel authorize refused, and why ('forbidden', 'timeout', 'error' or the host's reason). */
export interface Refusal {
  readonly channel: string
  readonly reason: string
}

export interface ChannelRequest extends ParsedChannel {
  readonly name: string
}

export interface AuthorizeRun {
  readonly connection: ConnectionInfo & { readonly log: FastifyBaseLogger }
  readonly namespaces: ReadonlyMap<string, ChannelNamespaceOptions>
  readonly timeoutMs: number
  readonly requestId: string | undefined
  /** Aborted by the caller when the connection closes; the run aborts it itself on timeout. */
  readonly controller: AbortController
}

/** A host's reason travels to the client: bounded like every echo. */
const MAX_REASON_LENGTH = 128

/**
 * Runs the authorize of every channel of one request at once, under one
 * deadline. Returns the refusals (none: all admitted) as an array when no
 * authorize answered with a promise, so a subscribe to open namespaces is
 * answered in the same tick; a promise otherwise. Never rejects.
 */
export function authorizeChannels (channels: readonly ChannelRequest[], run: AuthorizeRun): Refusal[] | Promise<Refusal[]> {
  const refusals: Refusal[] = []
  const pending: Array<{ channel: string, answer: PromiseLike<ChannelAuthorizeResult> }> = []
  for (const channel of channels) {
    const authorize = run.namespaces.get(channel.namespace)?.authorize
    if (authorize === undefined) continue
    let answer: ChannelAuthorizeResult | PromiseLike<ChannelAuthorizeResult>
    try {
      answer = authorize(run.connection, channel.id, contextFor(channel, run))
    } catch (err) {
      refusals.push(failed(channel.name, err, run))
      continue
    }
    if (isThenable(answer)) pending.push({ channel: channel.name, answer })
    else {
      const refusal = refusalOf(channel.name, answer)
      if (refusal !== undefined) refusals.push(refusal)
    }
  }
  if (pending.length === 0) return refusals
  return settle(pending, refusals, run)
}

function settle (pending: Array<{ channel: string, answer: PromiseLike<ChannelAuthorizeResult> }>, refusals: Refusal[], run: AuthorizeRun): Promise<Refusal[]> {
  return new Promise((resolve) => {
    let left = pending.length
    const answered = new Set<string>()
    const signal = run.controller.signal
    const finish = (): void => {
      left = 0
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      resolve(refusals)
    }
    // the verdict is given for every channel still unanswered: nobody waits for the host any more
    const giveUp = (reason: string): void => {
      for (const { channel } of pending) if (!answered.has(channel)) refusals.push({ channel, reason })
      finish()
    }
    const onAbort = (): void => giveUp('closed')
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      run.controller.abort(new Error('channel authorization timed out'))
      giveUp('timeout')
    }, run.timeoutMs)
    signal.addEventListener('abort', onAbort)
    for (const { channel, answer } of pending) {
      answer.then(
        (result) => record(channel, refusalOf(channel, result)),
        (err: unknown) => record(channel, failed(channel, err, run)))
    }
    function record (channel: string, refusal: Refusal | undefined): void {
      if (left === 0) return // timed out or closed: the verdict is already given
      answered.add(channel)
      if (refusal !== undefined) refusals.push(refusal)
      if (--left === 0) finish()
    }
  })
}

function contextFor (channel: ChannelRequest, run: AuthorizeRun): ChannelAuthorizeContext {
  return {
    channel: channel.name,
    namespace: channel.namespace,
    requestId: run.requestId,
    // the connection's child logger is made on first use only
    get log () { return run.connection.log },
    signal: run.controller.signal
  }
}

/** Only `true` admits: a missing return or any other value refuses, as a guard should. */
function refusalOf (channel: string, result: unknown): Refusal | undefined {
  if (result === true) return undefined
  if (result !== null && typeof result === 'object' && typeof (result as { reason?: unknown }).reason === 'string') {
    const reason = (result as { reason: string }).reason
    return { channel, reason: reason.length === 0 ? 'forbidden' : reason.slice(0, MAX_REASON_LENGTH) }
  }
  return { channel, reason: 'forbidden' }
}

function failed (channel: string, err: unknown, run: AuthorizeRun): Refusal {
  run.connection.log.error({ err, channel }, 'fastify-realtime: channel authorize threw; refusing the channel')
  return { channel, reason: 'error' }
}

function isThenable (value: unknown): value is PromiseLike<ChannelAuthorizeResult> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
}
