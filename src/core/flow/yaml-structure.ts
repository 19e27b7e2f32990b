// Linear checks on the parsed YAML tree before anything recursive walks it: nesting depth and duplicate keys.
import { type Document, isCollection, isPair, isScalar } from 'yaml'
import type { PendingProblem } from './problem.ts'

/** Real flows are a dozen levels deep; the bound protects the recursive checks that follow. */
export const MAX_DEPTH = 64

type Segment = string | number

/**
 * Finds a collection nested too deep (reported alone: nothing below it is worth checking) and repeated map keys.
 * Duplicate keys are found here with one Set per map, because the YAML library's own check is quadratic.
 */
export function checkStructure(doc: Document): PendingProblem[] {
  const problems: PendingProblem[] = []
  const stack: { node: unknown; path: Segment[] }[] = [{ node: doc.contents, path: [] }]
  while (stack.length > 0) {
    const { node, path } = stack.pop() as { node: unknown; path: Segment[] }
    if (!isCollection(node)) continue
    if (path.length >= MAX_DEPTH) return [tooDeep(path)]
    const seen = new Set<string>()
    node.items.forEach((item: unknown, index: number) => {
      if (!isPair(item)) {
        stack.push({ node: item, path: [...path, index] })
        return
      }
      const key = isScalar(item.key) ? String(item.key.value) : undefined
      if (key !== undefined && seen.has(key)) problems.push(duplicateKey([...path, key], item.key))
      if (key !== undefined) seen.add(key)
      stack.push({ node: item.value, path: [...path, key ?? index] })
    })
  }
  return problems
}

function tooDeep(path: Segment[]): PendingProblem {
  return {
    path,
    target: 'value',
    code: 'too_deep',
    message: `nested more than ${MAX_DEPTH} levels deep`,
    fix: 'flatten this value',
  }
}

function duplicateKey(path: Segment[], key: unknown): PendingProblem {
  const range = isScalar(key) ? key.range : undefined
  return {
    path,
    target: range ? { source: range[0] } : 'key',
    code: 'duplicate_key',
    message: `key '${String(path[path.length - 1])}' appears twice in this map`,
    fix: 'remove or rename one of the two keys',
  }
}
