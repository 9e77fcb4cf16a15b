/**
 * The part of AsyncAPI 3.0 that `app.realtime.asyncapi()` produces, typed so
 * a host can read (or extend) the document without casts. Field names are
 * the specification's; `x-fastify-realtime-*` keys are this plugin's
 * documented extensions.
 */

/** A JSON Schema (draft-07, as TypeBox writes it): plain JSON, no functions. */
export interface JsonSchema {
  readonly [keyword: string]: unknown
}

export interface AsyncApiReference {
  readonly $ref: string
}

export interface AsyncApiInfo {
  readonly title: string
  readonly version: string
  readonly description?: string
}

export interface AsyncApiServerVariable {
  readonly default?: string
  readonly description?: string
}

export interface AsyncApiServer {
  readonly host: string
  readonly protocol: string
  readonly pathname?: string
  readonly description?: string
  readonly variables?: Readonly<Record<string, AsyncApiServerVariable>>
  readonly security?: readonly AsyncApiReference[]
}

/** Where a client puts its JWT. */
export type TokenLocation = 'path' | 'subprotocol' | 'header'

export type AsyncApiSecurityScheme =
  | { readonly type: 'http', readonly scheme: 'bearer', readonly bearerFormat: string, readonly description: string, readonly 'x-fastify-realtime-token-in': TokenLocation }
  | { readonly type: 'httpApiKey', readonly in: 'header', readonly name: string, readonly description: string, readonly 'x-fastify-realtime-token-in': TokenLocation }

export interface AsyncApiCorrelationId {
  readonly location: string
  readonly description?: string
}

/** Who defines a message: the protocol itself, or the host app (`messages`, `events`). */
export type MessageOrigin = 'protocol' | 'host'
export type MessageDirection = 'client-to-server' | 'server-to-client'

export interface AsyncApiMessage {
  /** The wire `type`. */
  readonly name: string
  readonly title: string
  readonly summary?: string
  readonly contentType: 'application/json'
  /** The whole frame: envelope and data. */
  readonly payload: JsonSchema
  readonly correlationId?: AsyncApiCorrelationId
  readonly 'x-fastify-realtime-direction': MessageDirection
  readonly 'x-fastify-realtime-origin': MessageOrigin
  /** Server events only: whether a client may subscribe to it (it is in the `events` option). */
  readonly 'x-fastify-realtime-subscribable'?: boolean
}

export interface AsyncApiParameter {
  readonly description: string
}

export interface AsyncApiChannel {
  readonly address: string
  readonly title: string
  readonly description: string
  readonly messages: Readonly<Record<string, AsyncApiReference>>
  readonly parameters?: Readonly<Record<string, AsyncApiParameter>>
  readonly bindings?: { readonly ws: { readonly method: 'GET', readonly headers: JsonSchema, readonly bindingVersion: '0.1.0' } }
  /** Namespace channels only: the namespace, and whether an authorize admits each subscriber. */
  readonly 'x-fastify-realtime-namespace'?: { readonly name: string, readonly hasAuthorize: boolean }
}

export interface AsyncApiOperation {
  readonly action: 'send' | 'receive'
  readonly channel: AsyncApiReference
  readonly title: string
  readonly summary?: string
  readonly messages: readonly AsyncApiReference[]
  readonly reply?: { readonly channel: AsyncApiReference, readonly messages: readonly AsyncApiReference[] }
}

export interface CloseCodeEntry {
  readonly code: number
  /** The name in `CloseCode`. */
  readonly name: string
  readonly meaning: string
  /** What a client should do; `isReconnectable(code)` is the rule. */
  readonly clientShould: string
  readonly isReconnectable: boolean
}

export interface WireErrorEntry {
  readonly code: string
  /** The name in `WireError`. */
  readonly name: string
  readonly when: string
}

export interface ProtocolLimits {
  readonly maxMessageSize: number
  readonly rateLimit: { readonly max: number, readonly windowMs: number }
  readonly heartbeatIntervalMs: number
  readonly connectionTimeoutMs: number
  readonly maxConnectionsPerUser: number
  readonly maxSubscriptionsPerConnection: number
  readonly maxNamesPerSubscribe: number
}

/** The document `app.realtime.asyncapi()` returns (deeply frozen: copy it to change it). */
export interface AsyncApiDocument {
  readonly asyncapi: '3.0.0'
  readonly info: AsyncApiInfo
  readonly defaultContentType: 'application/json'
  readonly servers: Readonly<Record<string, AsyncApiServer>>
  readonly channels: Readonly<Record<string, AsyncApiChannel>>
  readonly operations: Readonly<Record<string, AsyncApiOperation>>
  readonly components: {
    readonly messages: Readonly<Record<string, AsyncApiMessage>>
    readonly securitySchemes: Readonly<Record<string, AsyncApiSecurityScheme>>
  }
  /** The subprotocol the server speaks (`fastify-realtime.v1`). */
  readonly 'x-fastify-realtime-subprotocol': string
  readonly 'x-fastify-realtime-close-codes': readonly CloseCodeEntry[]
  readonly 'x-fastify-realtime-error-codes': readonly WireErrorEntry[]
  /** This server's configured limits, as a client meets them. */
  readonly 'x-fastify-realtime-limits': ProtocolLimits
}
