// JSON Schema (as TypeBox writes it) -> the rows of a fields table: one row
// per property, nested objects flattened as `parent.child`.

/** A table cell: one line, no column breaks. */
export function cell (text) {
  return String(text).replaceAll('|', '\\|').replaceAll('\n', ' ')
}

function isAny (schema) {
  return Object.keys(schema).every(key => key === 'description')
}

/** A schema's type, as a reader says it: `string`, `string[]`, `"info" or "warning"`, `any`. */
export function typeText (schema) {
  if ('const' in schema) return JSON.stringify(schema.const)
  if (Array.isArray(schema.enum)) return schema.enum.map(value => JSON.stringify(value)).join(' or ')
  if (Array.isArray(schema.anyOf)) return schema.anyOf.map(typeText).join(' or ')
  if (schema.type === 'array') {
    const items = typeText(schema.items ?? {})
    return items.includes(' ') ? `(${items})[]` : `${items}[]`
  }
  if (schema.type === 'object' && schema.patternProperties !== undefined) return 'object (any keys)'
  if (schema.type === 'string' && typeof schema.format === 'string') return `string (${schema.format})`
  if (typeof schema.type === 'string') return schema.type
  return isAny(schema) ? 'any' : 'object'
}

/** The checks a value must pass beyond its type: lengths, bounds, counts, patterns. */
export function constraintText (schema) {
  const parts = []
  const range = (min, max, unit) => {
    if (min !== undefined && max !== undefined) parts.push(`${min}-${max} ${unit}`)
    else if (min !== undefined) parts.push(`at least ${min} ${unit}`)
    else if (max !== undefined) parts.push(`at most ${max} ${unit}`)
  }
  range(schema.minLength, schema.maxLength, 'characters')
  range(schema.minItems, schema.maxItems, 'items')
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    parts.push(schema.maximum === undefined ? `>= ${schema.minimum}` : schema.minimum === undefined ? `<= ${schema.maximum}` : `${schema.minimum} to ${schema.maximum}`)
  }
  if (typeof schema.pattern === 'string') parts.push(`matches \`${schema.pattern}\``)
  if (schema.uniqueItems === true) parts.push('unique')
  if (schema.type === 'array' && schema.items !== undefined) {
    const items = constraintText(schema.items)
    if (items !== '') parts.push(`each ${items}`)
  }
  if (Array.isArray(schema.anyOf)) {
    for (const member of schema.anyOf) {
      const text = constraintText(member)
      if (text !== '') parts.push(`${typeText(member)}: ${text}`)
    }
  }
  return parts.join('; ')
}

/** Rows `{ field, type, required, constraints, description }` of an object schema's properties. */
export function fieldRows (schema, prefix = '') {
  const rows = []
  const required = new Set(schema.required ?? [])
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const field = `${prefix}${name}`
    rows.push({
      field,
      type: typeText(property),
      required: required.has(name),
      constraints: constraintText(property),
      description: property.description ?? ''
    })
    if (property.type === 'object' && property.properties !== undefined) rows.push(...fieldRows(property, `${field}.`))
    if (property.type === 'array' && property.items?.type === 'object' && property.items.properties !== undefined) {
      rows.push(...fieldRows(property.items, `${field}[].`))
    }
  }
  return rows
}

/** A markdown fields table, or a sentence when there is nothing to tabulate. */
export function fieldsTable (schema) {
  const rows = fieldRows(schema)
  if (rows.length === 0) {
    return isAny(schema) ? 'Any JSON value (the host\'s own).' : 'No fields: `{}`.'
  }
  const lines = ['| field | type | required | constraints | description |', '| --- | --- | --- | --- | --- |']
  for (const row of rows) {
    lines.push(`| \`${cell(row.field)}\` | ${cell(row.type)} | ${row.required ? 'yes' : 'no'} | ${cell(row.constraints)} | ${cell(row.description)} |`)
  }
  if (schema.additionalProperties === true) lines.push('', 'Other fields may be present (the sender\'s own).')
  if (schema.additionalProperties === false) lines.push('', 'No other fields are allowed.')
  return lines.join('\n')
}
