// Maps a path in the parsed flow (steps[2].approval.required) back to a line and column of the YAML source.
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node, Scalar } from 'yaml'

export type Path = readonly (string | number)[]

export interface Position {
  line: number
  column: number
}

interface Found {
  node: Node | undefined
  /** The key of the map entry holding `node`, when it is a map value. */
  key: Node | undefined
  /** How many path segments exist in the document (the rest are missing). */
  depth: number
}

/** Resolves paths against one parsed document; every answer is a 1-based position, never an exception. */
export class YamlLocator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly source: string,
  ) {}

  /** Where the value at `path` is; a collection that is a map value points at its key, which reads better. */
  value(path: Path): Position {
    const found = this.find(path)
    const atKey = found.key !== undefined && (isMap(found.node) || isSeq(found.node) || found.depth < path.length)
    return this.position(atKey ? found.key : found.node)
  }

  /** Where the key of the entry at `path` is (for unknown keys), else the nearest existing parent. */
  key(path: Path): Position {
    const found = this.find(path)
    return this.position(found.key ?? found.node)
  }

  /** Where a missing entry would go: the key (or item) that holds the parent map. */
  missing(path: Path): Position {
    return this.value(path.slice(0, -1))
  }

  /** The source text of the node at `path`, when the path exists in the document. */
  sourceOf(path: Path): string | undefined {
    const found = this.find(path)
    const range = found.depth === path.length ? found.node?.range : undefined
    return range ? this.source.slice(range[0], range[1]) : undefined
  }

  /** Where character `offset` of the string at `path` is, when the scalar maps character for character. */
  inString(path: Path, offset: number): Position {
    const found = this.find(path)
    const node = found.node
    if (found.depth < path.length || !isScalar(node) || typeof node.value !== 'string' || !node.range) {
      return this.value(path)
    }
    const start = node.range[0]
    const raw = this.source.slice(start, node.range[1])
    const value = node.value
    if (node.type === Scalar.PLAIN && raw === value) return this.at(start + offset)
    const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE
    if (quoted && raw.slice(1, -1) === value) return this.at(start + 1 + offset)
    if (node.type === Scalar.BLOCK_LITERAL) return this.inBlockLiteral(start, value, offset) ?? this.at(start)
    return this.at(start)
  }

  private inBlockLiteral(headerOffset: number, value: string, offset: number): Position | undefined {
    const header = this.at(headerOffset)
    const before = value.slice(0, offset)
    const lineIndex = before.split('\n').length - 1
    const column = offset - (before.lastIndexOf('\n') + 1)
    const sourceLines = this.source.split('\n')
    const firstContent = sourceLines.slice(header.line).find((line) => line.trim() !== '')
    if (firstContent === undefined) return undefined
    const indent = firstContent.length - firstContent.trimStart().length
    return { line: header.line + 1 + lineIndex, column: indent + column + 1 }
  }

  private find(path: Path): Found {
    let node: unknown = this.doc.contents
    let key: Node | undefined
    let depth = 0
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.doc)
      const next = this.child(node, segment)
      if (next === undefined) break
      node = next.node
      key = next.key
      depth++
    }
    return { node: (node ?? undefined) as Node | undefined, key, depth }
  }

  private child(node: unknown, segment: string | number): { node: unknown; key: Node | undefined } | undefined {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyText(item.key) === String(segment))
      if (!pair) return undefined
      return { node: pair.value ?? pair.key, key: pair.key as Node }
    }
    if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      return { node: node.items[segment], key: undefined }
    }
    return undefined
  }

  private position(node: Node | undefined): Position {
    const offset = node?.range?.[0]
    return typeof offset === 'number' ? this.at(offset) : this.at(firstContentOffset(this.source))
  }

  /** The position of an absolute offset in the source. */
  at(offset: number): Position {
    const { line, col } = this.lines.linePos(Math.max(0, Math.min(offset, this.source.length)))
    return { line: Math.max(1, line), column: Math.max(1, col) }
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value)
  return undefined
}

/** The first character that is not blank or a comment, so "empty file" problems point somewhere sensible. */
function firstContentOffset(source: string): number {
  let offset = 0
  for (const line of source.split('\n')) {
    const text = line.trimStart()
    if (text !== '' && !text.startsWith('#')) return offset + (line.length - text.length)
    offset += line.length + 1
  }
  return 0
}
