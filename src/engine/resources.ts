// Large values travel as res:// references: outputs and callback bodies over the threshold are stored once, by content.
import { AppError } from '../errors.ts'

export interface ResourceMeta {
  id: string
  size: number
  mediaType: string
  runId: string | null
  createdAt: number
}

export interface ResourceStore {
  /** Stores the bytes (deduplicated by sha256) and returns `res://<sha256>`. */
  put(content: Buffer, mediaType: string, runId: string | null): Promise<string>
  get(id: string): Promise<(ResourceMeta & { content: Buffer }) | undefined>
  list(query: { runId?: string; limit: number }): Promise<ResourceMeta[]>
}

export const RESOURCE_REF = /^res:\/\/([0-9a-f]{64})$/

export function parseResourceRef(ref: string): string {
  const match = RESOURCE_REF.exec(ref.trim()) ?? /^([0-9a-f]{64})$/.exec(ref.trim())
  if (!match?.[1]) {
    throw new AppError('invalid_resource_ref', `'${ref}' is not a resource reference.`, { hint: 'Use res://<sha256>.' })
  }
  return match[1]
}

/** Strings above this size inside a large value become their own resources, so the rest stays addressable. */
const LARGE_STRING = 16 * 1024

/**
 * Keeps a value as is when its JSON is under the threshold. Otherwise stores the exact JSON bytes as a resource, and
 * returns the value with each large string replaced by a res:// ref (or only the ref, if it is still too large).
 */
export async function externalize(
  store: ResourceStore,
  value: unknown,
  threshold: number,
  runId: string,
  raw?: Buffer,
): Promise<{ value: unknown; resources: string[] }> {
  const json = JSON.stringify(value ?? null) ?? 'null'
  const bytes = raw ?? Buffer.from(json)
  // Outputs are stored as plain JSON: expression results may carry null prototypes or undefined members.
  if (bytes.length <= threshold) return { value: raw ? value : JSON.parse(json), resources: [] }
  const created = [await store.put(bytes, 'application/json', runId)]
  const shrink = async (node: unknown): Promise<unknown> => {
    if (typeof node === 'string' && Buffer.byteLength(node) > LARGE_STRING) {
      const ref = await store.put(Buffer.from(node), 'text/plain; charset=utf-8', runId)
      created.push(ref)
      return ref
    }
    if (Array.isArray(node)) return Promise.all(node.map(shrink))
    if (node && typeof node === 'object') {
      const entries = await Promise.all(Object.entries(node).map(async ([k, v]) => [k, await shrink(v)] as const))
      return Object.fromEntries(entries)
    }
    return node
  }
  const shrunk = await shrink(value)
  if (Buffer.byteLength(JSON.stringify(shrunk ?? null)) <= threshold) return { value: shrunk, resources: created }
  return { value: created[0], resources: created }
}

/** Reads a res:// ref's text, or returns the string itself when it is not a ref. */
export async function resolveText(store: ResourceStore, value: unknown): Promise<string | undefined> {
  if (typeof value !== 'string')
    return value === undefined || value === null ? undefined : JSON.stringify(value, null, 2)
  const match = RESOURCE_REF.exec(value)
  if (!match?.[1]) return value
  const resource = await store.get(match[1])
  return resource?.content.toString('utf8')
}
