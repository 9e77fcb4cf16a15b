import { createSigner } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import type { ConnectOptions, TestIdentity } from './types.js'
import { TestSetupError } from './errors.js'

interface HostJwt { sign (payload: Record<string, unknown>): string }

const signers = new Map<string, (claims: Record<string, unknown>) => string>()

/**
 * The token to connect with: `{ token }` as given; for `{ userId }` one signed
 * by, in this order, `options.sign`, `options.secret` (HS256, what
 * `jwt: secret` verifies), or the app's own @fastify/jwt (`app.jwt.sign`,
 * when the host registered it, which the plugin then uses to verify).
 * The plugin's own @fastify/jwt is encapsulated and out of the kit's reach
 * on purpose: a test passes the secret it configured.
 */
export async function tokenFor (app: FastifyInstance, who: TestIdentity, options: ConnectOptions): Promise<string> {
  if ('token' in who) return who.token
  const claims = { ...who.claims, sub: who.userId }
  if (options.sign !== undefined) return await options.sign(claims)
  if (options.secret !== undefined) return hs256(options.secret)(claims)
  const hostJwt = app.hasDecorator('jwt') ? (app as unknown as { jwt: Partial<HostJwt> }).jwt : undefined
  if (typeof hostJwt?.sign === 'function') return (hostJwt as HostJwt).sign(claims)
  throw new TestSetupError('connect(app, { userId }) needs a way to sign the token: options.secret (the plugin\'s jwt secret), options.sign, or @fastify/jwt registered on the app; or pass { token }')
}

function hs256 (secret: string): (claims: Record<string, unknown>) => string {
  let sign = signers.get(secret)
  if (sign === undefined) {
    sign = createSigner({ key: secret, algorithm: 'HS256' })
    signers.set(secret, sign)
  }
  return sign
}
