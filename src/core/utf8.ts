// The one strict UTF-8 check every transport applies to a request body before reading it as text.

/** `fatal`: bytes that are not UTF-8 throw instead of becoming U+FFFD. Reusable: each decode() starts afresh. */
const strict = new TextDecoder('utf-8', { fatal: true })

/** The bytes as text (a leading BOM dropped), or undefined when they are not UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes)
  } catch {
    return undefined
  }
}
