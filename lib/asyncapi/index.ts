import { buildAsyncApi, type AsyncApiSource } from './build.js'
import type { AsyncApiDocument } from './types.js'

/**
 * `app.realtime.asyncapi()`: built on the first call (the options and the
 * routed types are fixed by then), then the same frozen object every time.
 * The source is read lazily because the endpoint's prefix is known only once
 * its routes are registered.
 */
export function asyncApiOnce (source: () => AsyncApiSource): () => AsyncApiDocument {
  let document: AsyncApiDocument | undefined
  return () => {
    document ??= deepFreeze(buildAsyncApi(source()))
    return document
  }
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

export type { AsyncApiSource }
export type * from './types.js'
