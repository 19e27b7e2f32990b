// Reads a byte stream up to a limit, counting while it streams: a body that declares no length is never held whole.

/** The stream's bytes, or null once they pass `limit` (the stream is then canceled and the rest never read). */
export async function readUpTo(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Buffer | null> {
  const reader = stream?.getReader()
  if (!reader) return Buffer.alloc(0)
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => undefined)
      return null
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, size)
}
