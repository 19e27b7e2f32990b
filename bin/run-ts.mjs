#!/usr/bin/env node
// Runs a TypeScript script of this repository (bench/, scripts/) through the same bundler as the CLI.
import { ensureBuilt } from './build.mjs'

const [entry, ...rest] = process.argv.slice(2)
if (!entry) {
  process.stderr.write('usage: node bin/run-ts.mjs <file.ts> [args…]\n')
  process.exit(2)
}
process.setSourceMapsEnabled(true)
process.argv = [process.argv[0], entry, ...rest]
await import(await ensureBuilt(entry))
