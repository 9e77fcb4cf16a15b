import type { Registry } from '../registry.js'
import type { Connection } from '../connection.js'
import type { ChannelIndex } from '../channels/channel-index.js'
import type { Delivery, Outgoing } from '../delivery.js'
import type { DeliveryTarget, EventTarget, UsersTarget } from '../adapters/adapter.js'
import { withChannelField } from '../channels/envelope.js'
import type { StreamSequence } from './history.js'
import { StreamCopy } from './stream-copy.js'

/** A users target's users, each once, in the order given: the order of its inbox stamps on every node. */
export function uniqueUsers (userIds: readonly string[]): readonly string[] {
  return userIds.length === 1 ? userIds : [...new Set(userIds)]
}

/**
 * Delivers a stream message (one with offsets) to this node's connections:
 * each class of recipient its form (channel, inbox, or both at once), each
 * connection once, through its recovery gate when it has one.
 */
export class StreamFanout {
  readonly #registry: Registry<Connection>
  readonly #index: ChannelIndex<Connection>
  readonly #delivery: Delivery

  constructor (registry: Registry<Connection>, index: ChannelIndex<Connection>, delivery: Delivery) {
    this.#registry = registry
    this.#index = index
    this.#delivery = delivery
  }

  deliver (target: DeliveryTarget, payload: string, seq: StreamSequence): number {
    switch (target.kind) {
      case 'channel':
        return this.#toMembers(this.#index.members(target.channel), new StreamCopy(payload, payload, target.channel, seq.channel?.offset, undefined))
      case 'users':
        return this.#toUsers(target, payload, seq, undefined)
      case 'withChannel':
        return this.#withChannel(target.base, target.channel, payload, seq)
      /* c8 ignore next 2 */ // only these three targets are ever sequenced (Streams.plan)
      default:
        return 0
    }
  }

  /** The connections a deliver() would reach now, without sending (a clustered engine delivers later). */
  count (target: DeliveryTarget): number {
    switch (target.kind) {
      case 'channel':
        return this.#index.count(target.channel)
      case 'users': {
        let count = 0
        for (const userId of uniqueUsers(target.userIds)) count += this.#registry.countForUser(userId)
        return count
      }
      case 'withChannel': {
        const members = this.#index.members(target.channel)
        let count = members?.size ?? 0
        this.#eachNonMember(target.base, members, () => { count++ })
        return count
      }
      /* c8 ignore next 2 */
      default:
        return 0
    }
  }

  #toMembers (members: Iterable<Connection> | undefined, copy: StreamCopy): number {
    if (members === undefined) return 0
    let delivered = 0
    for (const connection of members) delivered += this.#send(connection, copy)
    return delivered
  }

  #toUsers (target: UsersTarget, payload: string, seq: StreamSequence, skip: ReadonlySet<Connection> | undefined): number {
    const users = uniqueUsers(target.userIds)
    let delivered = 0
    for (let i = 0; i < users.length; i++) {
      const connections = this.#registry.forUser(users[i] as string)
      if (connections === undefined) continue
      const copy = new StreamCopy(payload, undefined, undefined, undefined, seq.users?.[i]?.offset)
      for (const connection of connections) {
        if (skip?.has(connection) !== true) delivered += this.#send(connection, copy)
      }
    }
    return delivered
  }

  /**
   * Members get the channel form (with the inbox offset when the message is
   * also addressed to them), then `base`'s other connections the inbox form
   * (or the plain one for event subscribers): each connection once.
   */
  #withChannel (base: EventTarget | UsersTarget, channel: string, payload: string, seq: StreamSequence): number {
    const members = this.#index.members(channel)
    const channelText = withChannelField(payload, channel)
    const channelOffset = seq.channel?.offset
    const inboxOffsets = base.kind === 'users' && seq.users !== undefined ? inboxOffsetsOf(base, seq) : undefined
    let delivered = 0
    if (members !== undefined) {
      const memberCopy = new StreamCopy(payload, channelText, channel, channelOffset, undefined)
      const bothCopies = new Map<string, StreamCopy>()
      for (const connection of members) {
        const inboxOffset = inboxOffsets?.get(connection.userId)
        let copy = memberCopy
        if (inboxOffset !== undefined) {
          copy = bothCopies.get(connection.userId) ?? new StreamCopy(payload, channelText, channel, channelOffset, inboxOffset)
          bothCopies.set(connection.userId, copy)
        }
        delivered += this.#send(connection, copy)
      }
    }
    if (inboxOffsets !== undefined) return delivered + this.#toUsers(base as UsersTarget, payload, seq, members)
    const plain: Outgoing = { bytes: Buffer.from(payload), frame: undefined }
    this.#eachNonMember(base, members, (connection) => { delivered += this.#delivery.sendShared(connection, plain) })
    return delivered
  }

  #eachNonMember (base: EventTarget | UsersTarget, members: ReadonlySet<Connection> | undefined, visit: (connection: Connection) => void): void {
    if (base.kind === 'event') {
      for (const connection of this.#registry.subscribers(base.event) ?? []) {
        if (members?.has(connection) !== true) visit(connection)
      }
      return
    }
    for (const userId of uniqueUsers(base.userIds)) {
      for (const connection of this.#registry.forUser(userId) ?? []) {
        if (members?.has(connection) === true) continue
        /* c8 ignore next */ // a withChannel users base (broadcastReviewUpdated's targetUsers) never names an event; kept for the target's type
        if (base.event !== undefined && !connection.subscriptions.has(base.event)) continue
        visit(connection)
      }
    }
  }

  #send (connection: Connection, copy: StreamCopy): number {
    if (connection.recovery !== undefined) {
      connection.recovery.offer(copy)
      return 1
    }
    return this.#delivery.sendShared(connection, copy)
  }
}

function inboxOffsetsOf (base: UsersTarget, seq: StreamSequence): Map<string, number> {
  const users = uniqueUsers(base.userIds)
  const offsets = new Map<string, number>()
  for (let i = 0; i < users.length; i++) {
    const stamp = seq.users?.[i]
    if (stamp !== undefined) offsets.set(users[i] as string, stamp.offset)
  }
  return offsets
}
