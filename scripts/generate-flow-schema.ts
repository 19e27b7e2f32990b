// Writes schema/flow.schema.json from the flow model, so editors validate and complete flow files.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { flowSchemaFileText } from '../src/core/flow/json-schema.ts'

/** The repository root: this file runs bundled from dist/, so look upwards for package.json. */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}

const target = join(repositoryRoot(), 'schema', 'flow.schema.json')
mkdirSync(dirname(target), { recursive: true })
writeFileSync(target, flowSchemaFileText())
process.stdout.write(`${JSON.stringify({ ok: true, data: { written: 'schema/flow.schema.json' } })}\n`)
