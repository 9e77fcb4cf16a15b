// An optional dependency that is not installed, without uninstalling it.
import Module from 'node:module'
import type { Teardown } from './teardown.js'

type Resolver = { _resolveFilename: (request: string, ...rest: unknown[]) => string }

/**
 * From now until `t`'s teardown, require(`name`) fails with MODULE_NOT_FOUND
 * as when the package is missing (the plugin loads its optional
 * dependencies, prom-client and ioredis, with require).
 */
export function withoutModule (t: Teardown, name: string): void {
  const resolver = Module as unknown as Resolver
  const original = resolver._resolveFilename
  resolver._resolveFilename = function (request: string, ...rest: unknown[]) {
    if (request === name) throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' })
    return original.call(this, request, ...rest)
  }
  t.teardown(() => { resolver._resolveFilename = original })
}
