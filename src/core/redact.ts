// Masks known secret values (as `***`) in text and in JSON-like values before they are persisted, logged or shown.

export const MASK = '***'

/** Values shorter than this are not masked: masking "a" or "42" everywhere would destroy records and still leak. */
const MIN_MASKED = 4

/**
 * The shortest secret `secrets set` accepts. From this length a value is masked in every case and encoding; a stored
 * value from before the rule (4 to 7 characters) is still masked, but only as written.
 */
export const MIN_SECRET_LENGTH = 8

export interface Redactor {
  /** Remembers a secret value; every later redaction masks it. */
  add(value: string): void
  text(input: string): string
  /** A copy of `value` with every string (and object key) masked; returns the value itself when nothing matched. */
  value<T>(value: T): T
  size(): number
}

const base64url = (s: string) => s.replace(/\+/g, '-').replace(/\//g, '_')

/**
 * The characters of base64 that depend on `bytes` alone, for each of the three offsets they can start at inside a
 * longer encoded text (a `user:secret` basic header, a base64 body): the one or two characters at each end that also
 * carry a neighbour's bits are left out, since they differ from text to text.
 */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = []
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64')
    cores.push(encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6)))
  }
  return cores
}

/** A lone surrogate has no URL encoding (encodeURIComponent throws), so such a value has no URL spelling to mask. */
function uriEncoded(value: string): string | undefined {
  try {
    return encodeURIComponent(value)
  } catch {
    return undefined
  }
}

const jsonEscaped = (s: string) => JSON.stringify(s).slice(1, -1)

/** Every spelling of `value` a step, a log line or an echoing API may carry. */
function spellings(value: string): string[] {
  // JSON-escaped (quotes, backslashes, newlines) once for bodies and logs, twice for a body quoted inside a log line.
  const forms = [value, jsonEscaped(value), jsonEscaped(jsonEscaped(value))]
  if ([...value].length < MIN_SECRET_LENGTH) return forms
  const uri = uriEncoded(value)
  if (uri !== undefined) forms.push(uri, uri.replace(/%20/g, '+'))
  const bytes = Buffer.from(value)
  const full = bytes.toString('base64')
  forms.push(full, full.replace(/=+$/, ''), bytes.toString('base64url'))
  for (const core of base64Cores(bytes)) forms.push(core, base64url(core))
  return forms
}

const escapeRegExp = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')

/** One alternation over all needles, longest first so a secret that contains another is masked whole. */
function matcher(needles: Set<string>, flags: string): RegExp | undefined {
  if (needles.size === 0) return undefined
  const sorted = [...needles].sort((a, b) => b.length - a.length)
  return new RegExp(sorted.map(escapeRegExp).join('|'), flags)
}

function isContainer(node: unknown): node is object {
  // Bytes (Buffers, typed arrays) are not text: resources mask their text form where they are stored.
  return typeof node === 'object' && node !== null && !ArrayBuffer.isView(node)
}

export function createRedactor(): Redactor {
  const known = new Set<string>()
  // Values of MIN_SECRET_LENGTH or more match in any case; shorter legacy ones only exactly as written.
  const loose = new Set<string>()
  const exact = new Set<string>()
  let compiled: { loose: RegExp | undefined; exact: RegExp | undefined; shortest: number } | undefined

  function compile() {
    let shortest = Number.POSITIVE_INFINITY
    for (const needle of [...loose, ...exact]) shortest = Math.min(shortest, needle.length)
    compiled = { loose: matcher(loose, 'gi'), exact: matcher(exact, 'g'), shortest }
    return compiled
  }

  function text(input: string): string {
    if (known.size === 0) return input
    const m = compiled ?? compile()
    // Most strings in a record (statuses, ids, small numbers) are shorter than any needle: no scan at all.
    if (input.length < m.shortest) return input
    let out = m.loose ? input.replace(m.loose, MASK) : input
    if (m.exact) out = out.replace(m.exact, MASK)
    return out
  }

  return {
    add(value) {
      if (value.length < MIN_MASKED || known.has(value)) return
      known.add(value)
      const target = [...value].length >= MIN_SECRET_LENGTH ? loose : exact
      for (const form of spellings(value)) if (form.length >= MIN_MASKED) target.add(form)
      compiled = undefined
    },
    text,
    value: <T>(value: T): T => (known.size === 0 ? value : (walk(value, text) as T)),
    size: () => known.size,
  }
}

/** A container being copied: its entries, where the walk is, and the copy once something in it changed. */
interface Frame {
  source: object
  keys: string[] | undefined
  values: unknown[]
  next: number
  copy: unknown[] | [string, unknown][] | undefined
}

function frameOf(node: object): Frame {
  if (Array.isArray(node)) return { source: node, keys: undefined, values: node, next: 0, copy: undefined }
  const keys = Object.keys(node)
  const values = keys.map((k) => (node as Record<string, unknown>)[k])
  return { source: node, keys, values, next: 0, copy: undefined }
}

/** Records the masked `value` of entry `index`; copies the container on its first change only. */
function settle(frame: Frame, index: number, value: unknown, mask: (s: string) => string): void {
  const original = frame.values[index]
  if (frame.keys === undefined) {
    if (frame.copy === undefined && value === original) return
    frame.copy ??= frame.values.slice(0, index)
    ;(frame.copy as unknown[]).push(value)
    return
  }
  const key = frame.keys[index] as string
  const maskedKey = mask(key)
  if (frame.copy === undefined && value === original && maskedKey === key) return
  frame.copy ??= frame.keys.slice(0, index).map((k, i) => [k, frame.values[i]] as [string, unknown])
  ;(frame.copy as [string, unknown][]).push([maskedKey, value])
}

function finish(frame: Frame): unknown {
  if (frame.copy === undefined) return frame.source
  return frame.keys === undefined ? frame.copy : Object.fromEntries(frame.copy as [string, unknown][])
}

/**
 * Masks every string (and object key) at any depth with an explicit stack, so a value nested 100,000 levels down
 * neither escapes the mask nor overflows the call stack. Copy-on-write: unchanged containers are returned as they are.
 * A container that is its own ancestor (a cycle, never in JSON) is left as it is rather than walked forever.
 */
function walk(root: unknown, mask: (s: string) => string): unknown {
  if (typeof root === 'string') return mask(root)
  if (!isContainer(root)) return root
  const open = new Set<object>([root])
  const stack: Frame[] = [frameOf(root)]
  let result: unknown = root
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame
    if (frame.next < frame.values.length) {
      const index = frame.next++
      const child = frame.values[index]
      if (isContainer(child) && !open.has(child)) {
        open.add(child)
        stack.push(frameOf(child))
        continue
      }
      settle(frame, index, typeof child === 'string' ? mask(child) : child, mask)
      continue
    }
    stack.pop()
    open.delete(frame.source)
    const out = finish(frame)
    const parent = stack[stack.length - 1]
    if (parent) settle(parent, parent.next - 1, out, mask)
    else result = out
  }
  return result
}

/**
 * The process's redactor. Secret values are added when they are set or revealed (and all of them at server start),
 * so a record written by any run of this process, and every log line, is masked.
 */
export const processRedactor: Redactor = createRedactor()
