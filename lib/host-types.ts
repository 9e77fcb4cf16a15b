/**
 * Types the host app declares for its tokens and users, by declaration
 * merging (the way @fastify/jwt's `FastifyJWT` works):
 *
 * ```ts
 * declare module 'fastify-realtime' {
 *   interface RealtimeTypes {
 *     payload: { role: 'admin' | 'member' }   // the token's claims besides `sub`
 *     user: { id: string, name: string }       // what `authenticate` returns as `user`
 *   }
 * }
 * ```
 *
 * Declare `user` only if your `authenticate` hook always returns one: then a
 * hook that returns `true` (no user) is a type error, and `connection.user`
 * is typed as your user everywhere.
 */
export interface RealtimeTypes {}

/**
 * What `authenticate(payload)` gets: the verified token's claims, with `sub`
 * already checked and turned into the user id string (a numeric `sub` becomes
 * its decimal string). The other claims are typed as the host declared them
 * (trusted because the token's signature is): `Record<string, unknown>`
 * when it declared nothing.
 */
export type RealtimeTokenPayload = RealtimeTypes extends { payload: infer P }
  ? Omit<P, 'sub'> & { sub: string }
  : { sub: string } & Record<string, unknown>

/** `connection.user`: what `authenticate` returned as `user`; `unknown` unless the host declared it. */
export type RealtimeUser = RealtimeTypes extends { user: infer U } ? U : unknown

/** What `authenticate` returns: false/null refuses the connection with 401. */
export type AuthenticateResult = RealtimeTypes extends { user: infer U }
  ? { userId?: string, user: U } | false | null
  : { userId?: string, user?: unknown } | boolean | null | undefined
