// Constants of the wire protocol that the server and the client both use:
// defined once here, so the two cannot drift. Dependency-free (no TypeBox):
// the browser bundle of the client imports this file.

/** The subprotocol the server speaks; a browser offers it with `bearer.<jwt>`. */
export const SUBPROTOCOL = 'fastify-realtime.v1'

/** The prefix of the subprotocol that carries the token (`bearer.<jwt>`): the one header a browser can set. */
export const BEARER_PROTOCOL_PREFIX = 'bearer.'

/** Most names one subscribe or unsubscribe may carry in each of its lists (events, channels). */
export const MAX_NAMES_PER_SUBSCRIBE = 100
