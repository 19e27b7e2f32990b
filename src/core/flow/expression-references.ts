// Finds the top-level names a JSONata expression reads (inputs.x, steps.<id>…, callbacks.<id>…) from its syntax tree.

/** A path read from the expression's root scope, e.g. `steps.review.output.decision` → root steps, path [review, …]. */
export interface ExpressionReference {
  root: string
  /** The literal names that follow the root, at most three (`steps.review.output.decision` → [review, output, decision]). */
  path: string[]
  /** Offset of the root name inside the expression source. */
  offset: number
}

type Node = Record<string, unknown>

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Walks the JSONata AST; depth is bounded because the tree comes from user text. */
export function collectReferences(ast: unknown): ExpressionReference[] {
  const found: ExpressionReference[] = []
  walk(ast, true, found, 0)
  return found
}

function walk(value: unknown, atRoot: boolean, found: ExpressionReference[], depth: number): void {
  if (depth > 200) return
  if (Array.isArray(value)) {
    for (const item of value) walk(item, atRoot, found, depth + 1)
    return
  }
  if (!isNode(value)) return
  if (value.type === 'path' && Array.isArray(value.steps)) {
    walkPath(value.steps, atRoot, found, depth)
    return
  }
  for (const child of Object.values(value)) walk(child, atRoot, found, depth + 1)
}

/**
 * The first step of a path is read from the surrounding context; every later step, and every filter or sort on any
 * step, is read relative to the step before it, so names there are fields of data, not scope variables.
 */
function walkPath(steps: unknown[], atRoot: boolean, found: ExpressionReference[], depth: number): void {
  const [first] = steps
  let nameStart = 0
  // `$$.env` always reads the root; `$.env` reads it when the path itself sits at the root.
  if (isNode(first) && first.type === 'variable' && (first.value === '$' || (first.value === '' && atRoot))) {
    nameStart = 1
  }
  const head = steps[nameStart]
  if ((atRoot || nameStart === 1) && isNode(head) && head.type === 'name' && typeof head.value === 'string') {
    found.push({ root: head.value, path: followingNames(steps, nameStart + 1), offset: nameOffset(head) })
  }
  steps.forEach((step, index) => {
    if (!isNode(step)) return
    if (step.type === 'name' || step.type === 'variable') {
      for (const [key, child] of Object.entries(step)) {
        if (!LEAF_KEYS.has(key)) walk(child, false, found, depth + 1)
      }
    } else {
      walk(step, index === 0 ? atRoot : false, found, depth + 1)
    }
  })
}

const LEAF_KEYS = new Set(['value', 'type', 'position'])

function followingNames(steps: unknown[], from: number): string[] {
  const names: string[] = []
  for (let index = from; index < steps.length && names.length < 3; index++) {
    const step = steps[index]
    if (!isNode(step) || step.type !== 'name' || typeof step.value !== 'string') break
    names.push(step.value)
    if (Array.isArray(step.stages) || step.predicate !== undefined) break
  }
  return names
}

/** JSONata positions point just past a token; names are short, so the start is position − length. */
function nameOffset(node: Node): number {
  const position = typeof node.position === 'number' ? node.position : 0
  const length = typeof node.value === 'string' ? node.value.length : 0
  return Math.max(0, position - length)
}
