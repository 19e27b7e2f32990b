// Where JSON text stops being JSON: the offset, line and column of the first character that no JSON text can hold
// there. V8 names the offset in most of its messages but not all ("Unexpected token 'x'"), so it is found here.

export interface JsonErrorAt {
  /** Offset (UTF-16 code units) of the first character that cannot be there; the text's length when it ends early. */
  position: number
  /** 1-based line and column of that character. */
  line: number
  column: number
}

/** Texts longer than this get no position when V8 did not give one: finding it parses the text about 25 times. */
const MAX_SEARCHED_CHARS = 1024 * 1024

/** Whether `prefix` could begin a JSON text: it parses, or the parser stopped only because it ran out of text. */
function isJsonPrefix(prefix: string): boolean {
  try {
    JSON.parse(prefix)
    return true
  } catch (error) {
    const message = error instanceof Error ? error.message : ''
    if (message.startsWith('Unexpected end of JSON input')) return true
    const at = /at position (\d+)/.exec(message)
    return at !== null && Number(at[1]) >= prefix.length
  }
}

/** The position of the JSON syntax error `message` (from JSON.parse(text)) reports, or undefined if unknown. */
export function jsonErrorAt(text: string, message: string): JsonErrorAt | undefined {
  let position: number | undefined
  const stated = /at position (\d+)/.exec(message)
  if (stated) position = Number(stated[1])
  else if (message.startsWith('Unexpected end of JSON input')) position = text.length
  else if (isJsonPrefix(text)) position = text.length
  else if (text.length <= MAX_SEARCHED_CHARS) {
    // Being a JSON prefix holds for every prefix shorter than one that holds: the longest such prefix ends at the error.
    let good = 0
    let bad = text.length
    while (bad - good > 1) {
      const mid = (good + bad) >>> 1
      if (isJsonPrefix(text.slice(0, mid))) good = mid
      else bad = mid
    }
    position = good
  }
  if (position === undefined) return undefined
  const before = text.slice(0, position)
  const lineStart = before.lastIndexOf('\n') + 1
  return { position, line: before.split('\n').length, column: position - lineStart + 1 }
}
