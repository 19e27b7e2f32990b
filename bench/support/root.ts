// Finds the repository root from a bench script, whether it runs from bench/ or from its bundle in dist/.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

export function repoRoot(from = import.meta.dirname): string {
  let dir = from
  while (!existsSync(join(dir, 'bin', 'greenlight.mjs'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no repository root above ${from}`)
    dir = parent
  }
  return dir
}
