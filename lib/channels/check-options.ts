import { NAMESPACE_PATTERN } from './names.js'
import { NAMESPACE_KEYS, type ChannelNamespaceOptions } from './namespace.js'
import { checkHistory } from '../history/check-options.js'

/** Checks the `channels` option at register time; pushes one line per problem. */
export function checkChannels (value: unknown, problems: string[]): Map<string, ChannelNamespaceOptions> {
  const namespaces = new Map<string, ChannelNamespaceOptions>()
  if (value === undefined) return namespaces
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push('channels must be an object of namespace options by namespace name')
    return namespaces
  }
  for (const [name, definition] of Object.entries(value)) {
    if (!NAMESPACE_PATTERN.test(name)) {
      problems.push(`channels.${name.slice(0, 64)} is not a valid namespace name (a letter, then up to 63 letters, digits, _ or -)`)
      continue
    }
    if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) {
      problems.push(`channels.${name} must be an object ({} for an open namespace)`)
      continue
    }
    const unknown = Object.keys(definition).filter(key => !NAMESPACE_KEYS.has(key))
    for (const key of unknown) problems.push(`channels.${name}.${key.slice(0, 64)} is not a namespace option`)
    const { authorize } = definition as ChannelNamespaceOptions
    if (authorize !== undefined && typeof authorize !== 'function') {
      problems.push(`channels.${name}.authorize must be a function (connection, id, context) => boolean | { reason }`)
      continue
    }
    const { presence } = definition as ChannelNamespaceOptions
    if (presence !== undefined && typeof presence !== 'boolean' && presence !== 'count') {
      problems.push(`channels.${name}.presence must be true, false or 'count'`)
      continue
    }
    if (unknown.length > 0) continue
    const resolved: ChannelNamespaceOptions = { ...(definition as ChannelNamespaceOptions) }
    if (resolved.history !== undefined) {
      const history = checkHistory(`channels.${name}.history`, resolved.history, problems)
      if (history === undefined) continue
      resolved.history = history
    }
    namespaces.set(name, Object.freeze(resolved))
  }
  return namespaces
}
