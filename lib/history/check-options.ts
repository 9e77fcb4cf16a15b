import { Value } from '@sinclair/typebox/value'
import { HistoryOptionsSchema, type HistoryOptions } from './options.js'

/** A namespace's `history` (or the `inbox` option) with its defaults, frozen; undefined after pushing its problems. */
export function checkHistory (where: string, value: unknown, problems: string[]): Readonly<HistoryOptions> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${where} must be { size, ttlMs }`)
    return undefined
  }
  const copy: Record<string, unknown> = { ...value }
  Value.Default(HistoryOptionsSchema, copy)
  let isValid = true
  for (const error of Value.Errors(HistoryOptionsSchema, copy)) {
    problems.push(`${where}${error.path.replaceAll('/', '.')} ${error.message}`)
    isValid = false
  }
  return isValid ? Object.freeze(copy as HistoryOptions) : undefined
}
