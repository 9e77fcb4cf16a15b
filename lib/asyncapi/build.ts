import type { TSchema } from '@sinclair/typebox'
import { SUBPROTOCOL } from '../handshake-token.js'
import { MAX_NAMES_PER_SUBSCRIBE } from '../protocol/client-messages.js'
import { DEFAULT_EVENTS, SERVER_MESSAGE_SCHEMAS } from '../protocol/server-messages.js'
import type { ResolvedOptions } from '../options.js'
import { closeCodeEntries, wireErrorEntries } from './code-descriptions.js'
import { ComponentKeys, clientMessage, serverMessage } from './messages.js'
import { publishedFrameSchema } from './frames.js'
import { handshakeHeaders, realtimeServer, securitySchemes } from './security.js'
import { PROTOCOL_REPLIES } from './summaries.js'
import type { AsyncApiChannel, AsyncApiDocument, AsyncApiMessage, AsyncApiOperation, AsyncApiReference } from './types.js'

/** What the document is built from: the resolved options and the schemas the router validates. */
export interface AsyncApiSource {
  readonly options: ResolvedOptions
  /** Every client message type the router validates, with its data schema, in the router's order. */
  readonly clientSchemas: ReadonlyMap<string, TSchema>
  /** The endpoint's full path, register prefix included (`/api/v1/ws`). */
  readonly endpointPath: string
}

const ENDPOINT = 'realtime'
const isDefaultEvent = new Set<string>(DEFAULT_EVENTS)

/**
 * The AsyncAPI 3.0 document of one server: the endpoint as the `realtime`
 * channel (client messages received, server messages sent), one channel per
 * declared namespace, the three token locations as security schemes, and
 * the close and wire error codes as `x-fastify-realtime-*` extensions.
 * Deterministic: the same options give the same document, byte for byte.
 */
export function buildAsyncApi ({ options, clientSchemas, endpointPath }: AsyncApiSource): AsyncApiDocument {
  const keys = new ComponentKeys()
  const operationKeys = new ComponentKeys()
  const messages: Record<string, AsyncApiMessage> = {}
  const add = (prefix: 'client' | 'server' | 'published', message: AsyncApiMessage, name = message.name): string => {
    const key = keys.take(prefix, name)
    messages[key] = message
    return key
  }

  const clientKeys = new Map<string, string>()
  for (const [type, schema] of clientSchemas) {
    clientKeys.set(type, add('client', clientMessage(type, schema, options.messages.has(type) ? 'host' : 'protocol')))
  }
  const serverKeys = new Map<string, string>()
  for (const [type, schema] of Object.entries(SERVER_MESSAGE_SCHEMAS) as Array<[string, TSchema]>) {
    const isEvent = options.events.has(type) || isDefaultEvent.has(type)
    serverKeys.set(type, add('server', serverMessage(type, schema, 'protocol', isEvent ? options.events.has(type) : undefined)))
  }
  for (const event of options.events) {
    if (!serverKeys.has(event)) serverKeys.set(event, add('server', serverMessage(event, undefined, 'host', true)))
  }

  const channelMessages = (ids: Iterable<string>): Record<string, AsyncApiReference> =>
    Object.fromEntries([...ids].map(key => [key, { $ref: `#/components/messages/${key}` }]))
  const channels: Record<string, AsyncApiChannel> = {
    [ENDPOINT]: {
      address: endpointPath,
      title: 'WebSocket endpoint',
      description: `One WebSocket per client, subprotocol \`${SUBPROTOCOL}\`, JSON text frames of at most ${options.maxMessageSize} bytes. ` +
        'Every message is an envelope `{ type, data, ... }`; channels of the namespaces below travel on this same connection.',
      messages: channelMessages([...clientKeys.values(), ...serverKeys.values()]),
      bindings: { ws: { method: 'GET', headers: handshakeHeaders(), bindingVersion: '0.1.0' } }
    }
  }
  const ref = (channel: string, key: string): AsyncApiReference => ({ $ref: `#/channels/${channel}/messages/${key}` })
  const channelRef = (channel: string): AsyncApiReference => ({ $ref: `#/channels/${channel}` })
  const serverRef = (type: string): AsyncApiReference => ref(ENDPOINT, serverKeys.get(type) as string)

  const operations: Record<string, AsyncApiOperation> = {}
  for (const [type, key] of clientKeys) {
    const replies = [...(PROTOCOL_REPLIES[type] ?? []), 'error'].filter(reply => serverKeys.has(reply))
    operations[operationKeys.take('receive', type)] = {
      action: 'receive',
      channel: channelRef(ENDPOINT),
      title: `Receive ${type}`,
      ...summaryOf(messages[key]),
      messages: [ref(ENDPOINT, key)],
      reply: { channel: channelRef(ENDPOINT), messages: replies.map(serverRef) }
    }
  }
  for (const [type, key] of serverKeys) {
    operations[operationKeys.take('send', type)] = {
      action: 'send',
      channel: channelRef(ENDPOINT),
      title: `Send ${type}`,
      ...summaryOf(messages[key]),
      messages: [ref(ENDPOINT, key)]
    }
  }

  for (const [namespace, definition] of options.channels) {
    const channel = keys.take('namespace', namespace)
    const published = add('published', {
      name: '*',
      title: `Published to ${namespace}:<id>`,
      summary: `Any message the host publishes to a channel of ${namespace} (app.realtime.publish), with \`channel\` set.`,
      contentType: 'application/json',
      payload: publishedFrameSchema(namespace),
      'x-fastify-realtime-direction': 'server-to-client',
      'x-fastify-realtime-origin': 'host'
    }, namespace)
    // both are protocol messages (SERVER_MESSAGE_SCHEMAS), always documented above
    const membership = ['subscription.joined', 'subscription.ended'].map(type => serverKeys.get(type) as string)
    const hasAuthorize = definition.authorize !== undefined
    channels[channel] = {
      address: `${namespace}:{id}`,
      title: `Namespace ${namespace}`,
      description: `Channels \`${namespace}:<id>\`, carried on the \`${ENDPOINT}\` connection: subscribe with \`subscribe { channels: ["${namespace}:<id>"] }\`. ` +
        (hasAuthorize ? 'The namespace\'s authorize admits each subscriber (CHANNEL_FORBIDDEN otherwise).' : 'Open to every authenticated connection.'),
      parameters: { id: { description: '1-128 characters of [A-Za-z0-9_.@=-]' } },
      messages: channelMessages([published, ...membership]),
      'x-fastify-realtime-namespace': { name: namespace, hasAuthorize }
    }
    operations[operationKeys.take('publish', namespace)] = {
      action: 'send',
      channel: channelRef(channel),
      title: `Send to ${namespace}:<id>`,
      messages: [published, ...membership].map(key => ref(channel, key))
    }
  }

  const schemes = securitySchemes(endpointPath)
  return {
    asyncapi: '3.0.0',
    info: { ...options.asyncapi },
    defaultContentType: 'application/json',
    servers: { [ENDPOINT]: realtimeServer(Object.keys(schemes)) },
    channels,
    operations,
    components: { messages, securitySchemes: schemes },
    'x-fastify-realtime-subprotocol': SUBPROTOCOL,
    'x-fastify-realtime-close-codes': closeCodeEntries(),
    'x-fastify-realtime-error-codes': wireErrorEntries(),
    'x-fastify-realtime-limits': {
      maxMessageSize: options.maxMessageSize,
      rateLimit: { max: options.rateLimit.max, windowMs: options.rateLimit.windowMs },
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      connectionTimeoutMs: options.connectionTimeoutMs,
      maxConnectionsPerUser: options.maxConnectionsPerUser,
      maxSubscriptionsPerConnection: options.maxSubscriptionsPerConnection,
      maxNamesPerSubscribe: MAX_NAMES_PER_SUBSCRIBE
    }
  }
}

function summaryOf (message: AsyncApiMessage | undefined): { summary?: string } {
  return message?.summary === undefined ? {} : { summary: message.summary }
}
