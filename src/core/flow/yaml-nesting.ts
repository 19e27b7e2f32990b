// Bounds YAML nesting before the parser builds anything: a pass over the parser's own tokens that stops at the first
// collection nested too deep, so a hostile file costs part of a lexer pass instead of seconds of parsing.
import { CST, Lexer } from 'yaml'

/** Far above real flows (a dozen levels) and above the parsed check (yaml-structure's MAX_DEPTH), which names a path. */
export const MAX_NESTING = 100

type Kind = 'map' | 'seq'

/** Zero-width markers the lexer inserts; they are not characters of the source. */
const CONTROL = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR])

/**
 * The offset of the first collection nested more than `limit` deep, or undefined. The parser's lexer decides what is
 * a string, a comment or a block scalar, so no text can hide brackets or indicators from the count. Block collections
 * are counted by column: a deeper one starts further right, except a sequence that is a key's value at the key's own
 * indentation.
 */
export function findTooDeep(source: string, limit = MAX_NESTING): number | undefined {
  const block: { column: number; kind: Kind }[] = []
  let flow = 0
  // Flow levels the lexer gave up at an error; the parser may still hold them, so they keep counting.
  let stranded = 0
  let offset = 0
  let lineStart = 0
  let lineFresh = true
  /** Where the current block node (perhaps a key) began on this line. */
  let nodeAt: number | undefined
  let scalarText = false
  const depth = () => block.length + flow + stranded

  /** A block collection (or another entry of one) at `column`; true when that goes too deep. */
  function enter(column: number, kind: Kind): boolean {
    let top = block.at(-1)
    if (top?.column === column) {
      if (top.kind === kind) return false
      if (!(top.kind === 'map' && kind === 'seq')) {
        block.pop()
        top = block.at(-1)
        if (top?.column === column && top.kind === kind) return false
      }
    }
    block.push({ column, kind })
    return depth() > limit
  }

  for (const token of new Lexer().lex(source)) {
    const at = offset
    const text = scalarText || !CONTROL.has(token)
    if (text) offset += token.length
    const column = at - lineStart
    const type = scalarText ? 'scalar-text' : CST.tokenType(token)
    scalarText = false
    const newline = text ? token.lastIndexOf('\n') : -1
    if (newline >= 0) lineStart = at + newline + 1
    if (type === 'newline') {
      lineFresh = true
      nodeAt = undefined
      continue
    }
    if (type === 'space' || type === 'comment' || type === 'doc-mode' || type === 'byte-order-mark') continue
    if (type === 'flow-error-end') {
      stranded += flow
      flow = 0
      continue
    }
    if (type === 'doc-start' || type === 'doc-end') {
      // A document marker closes every block collection of the document before it.
      block.length = 0
      continue
    }
    if (flow > 0) {
      // Lines inside a flow collection have no block indentation.
      lineFresh = false
      if (type === 'flow-seq-start' || type === 'flow-map-start') {
        flow++
        if (depth() > limit) return at
      } else if (type === 'flow-seq-end' || type === 'flow-map-end') flow--
      continue
    }
    if (lineFresh) {
      // The first token of a line closes the block collections indented deeper than it.
      while ((block.at(-1)?.column ?? -1) > column) block.pop()
      lineFresh = false
    }
    switch (type) {
      case 'seq-item-ind':
      case 'explicit-key-ind':
        nodeAt = undefined
        if (enter(column, type === 'seq-item-ind' ? 'seq' : 'map')) return at
        break
      case 'map-value-ind': {
        // After a key, the map starts where the key did; alone (`: value`), it is an explicit key's value.
        const start = nodeAt ?? at
        nodeAt = undefined
        if (enter(start - lineStart, 'map')) return start
        break
      }
      case 'flow-seq-start':
      case 'flow-map-start':
        nodeAt ??= at
        flow = 1
        if (depth() > limit) return at
        break
      case 'scalar':
        scalarText = true
        nodeAt ??= at
        break
      case 'flow-seq-end':
      case 'flow-map-end':
      case 'comma':
        break
      default:
        nodeAt ??= at
    }
  }
  return undefined
}

/** 1-based line and column (UTF-16 units) of an offset. */
export function positionOf(source: string, offset: number): { line: number; column: number } {
  let line = 1
  for (let i = source.indexOf('\n'); i >= 0 && i < offset; i = source.indexOf('\n', i + 1)) line++
  return { line, column: offset - (source.lastIndexOf('\n', offset - 1) + 1) + 1 }
}
