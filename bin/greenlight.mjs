#!/usr/bin/env node
// The `greenlight` command: runs the CLI from source, bundled on first use (see build.mjs).
import { ensureBuilt } from './build.mjs'

process.setSourceMapsEnabled(true)
const { main } = await import(await ensureBuilt('src/cli/main.ts'))
process.exitCode = await main(process.argv.slice(2))
