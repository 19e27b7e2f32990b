// How deeply JSON text nests, read before it is parsed, so that nothing later (schemas, redaction, hashing) walks a
// value deep enough to overflow the stack. Pure: every transport and the webhook intake can ask it.

/** Deeper JSON than this is refused: no payload a flow reads needs more, and every later walk stays shallow. */
export const MAX_JSON_DEPTH = 1024

/** Whether JSON text nests arrays and objects deeper than `limit`, counted outside strings; stops at the first level over. */
export function jsonDepthOver(text: string, limit: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (inString) {
      if (code === 92)
        i++ // backslash: skip the escaped character
      else if (code === 34) inString = false
    } else if (code === 34) inString = true
    else if (code === 91 || code === 123) {
      if (++depth > limit) return true
    } else if (code === 93 || code === 125) depth--
  }
  return false
}
