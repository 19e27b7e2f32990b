// The one rule for turning a template's result into text, used by interpolation and by every step kind's text fields.

/**
 * A value as text: a string as is; a number, boolean or bigint through String; an object or array as JSON; nothing
 * (undefined, null, a function) as ''. Inside a text template (`"a{{ x }}b"`) every part reads this way, and a field
 * that needs text (an http url or path, a kv key, an ssh command, an approval message) takes a typed result this way.
 */
export function toText(value: unknown): string {
  return toOptionalText(value) ?? ''
}

/**
 * As toText, but nothing stays nothing: an optional text field (an http query parameter or header, an ssh env
 * variable, a notify text) whose template found no value is left out rather than sent as '' or "undefined".
 */
export function toOptionalText(value: unknown): string | undefined {
  if (value === undefined || value === null || typeof value === 'function' || typeof value === 'symbol') return
  if (typeof value === 'string') return value
  if (typeof value === 'object') return JSON.stringify(value) ?? ''
  return String(value)
}
