// Masks known secret values (as `***`) in text and in JSON-like values before they are persisted, logged or shown.

export const MASK = '***'

/** Values shorter than this are not masked: masking "a" or "42" everywhere would destroy records and still leak. */
const MIN_LENGTH = 4

export interface Redactor {
  /** Remembers a secret value; every later redaction masks it. */
  add(value: string): void
  text(input: string): string
  /** A copy of `value` with every string (and object key) masked; returns the value itself when nothing matched. */
  value<T>(value: T): T
  size(): number
}

export function createRedactor(): Redactor {
  // Longest first, so a secret that contains another is masked whole.
  let needles: string[] = []
  const known = new Set<string>()

  function text(input: string): string {
    if (needles.length === 0 || input.length < MIN_LENGTH) return input
    let out = input
    for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(MASK)
    return out
  }

  function walk(node: unknown, depth: number): unknown {
    if (typeof node === 'string') return text(node)
    if (depth > 64 || node === null || typeof node !== 'object') return node
    if (Buffer.isBuffer(node)) return node
    if (Array.isArray(node)) {
      let changed = false
      const next = node.map((item) => {
        const out = walk(item, depth + 1)
        if (out !== item) changed = true
        return out
      })
      return changed ? next : node
    }
    let changed = false
    const entries = Object.entries(node).map(([k, v]) => {
      const key = text(k)
      const out = walk(v, depth + 1)
      if (out !== v || key !== k) changed = true
      return [key, out] as const
    })
    return changed ? Object.fromEntries(entries) : node
  }

  return {
    add(value) {
      if (value.length < MIN_LENGTH || known.has(value)) return
      known.add(value)
      // The JSON-escaped spelling too (quotes, backslashes, newlines), for serialized logs and bodies.
      const escaped = JSON.stringify(value).slice(1, -1)
      const forms = escaped === value ? [value] : [value, escaped]
      needles = [...new Set([...needles, ...forms])].sort((a, b) => b.length - a.length)
    },
    text,
    value: <T>(value: T): T => (needles.length === 0 ? value : (walk(value, 0) as T)),
    size: () => known.size,
  }
}

/**
 * The process's redactor. Secret values are added when they are set or revealed (and all of them at server start),
 * so a record written by any run of this process, and every log line, is masked.
 */
export const processRedactor: Redactor = createRedactor()
