import type { FastifyInstance } from 'fastify'
import createError from '@fastify/error'
import { Type, type Static } from '@sinclair/typebox'
import { Namespace } from './channels.js'
import { callerOf, Delivered } from './http.js'

const ChannelParams = Type.Object({
  channel: Type.String({ maxLength: 193, pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}:[A-Za-z0-9_.@=-]{1,128}$' })
})
const MessageBody = Type.Object({
  // a caller publishes chat.* only, never a type of the server's own (subscription.ended, error, ...)
  type: Type.String({ maxLength: 64, pattern: '^chat\\.[a-z0-9_-]+$' }),
  data: Type.Record(Type.String(), Type.Unknown())
}, { additionalProperties: false })

/** What a caller may publish to: the open namespaces (the others are the server's to publish to). */
const OPEN_NAMESPACES: ReadonlySet<string> = new Set([Namespace.lobby])

const ClosedChannel = createError('CHANNEL_NOT_OPEN', 'Only lobby channels take messages from callers', 403)

/** POST /channels/:channel/messages: a caller's message to an open channel, signed with the caller's id. */
export function channelRoutes (secured: FastifyInstance): void {
  secured.post<{ Params: Static<typeof ChannelParams>, Body: Static<typeof MessageBody> }>('/channels/:channel/messages', {
    bodyLimit: 16 * 1024,
    schema: { params: ChannelParams, body: MessageBody, response: { 200: Delivered } }
  }, async (request) => {
    const { channel } = request.params
    if (!OPEN_NAMESPACES.has(channel.slice(0, channel.indexOf(':')))) throw new ClosedChannel()
    const { type, data } = request.body
    // `sender_id` last: the caller cannot sign a message as someone else
    return { delivered: await secured.realtime.publish(channel, { type, data: { ...data, sender_id: callerOf(request) } }) }
  })
}
