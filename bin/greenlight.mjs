#!/usr/bin/env node
// The `greenlight` command: runs the CLI from source, bundled on first use (see build.mjs).
import { ensureBuilt } from './build.mjs'

process.setSourceMapsEnabled(true)
const { main } = await import(await ensureBuilt('src/cli/main.ts'))
const code = await main(process.argv.slice(2))
process.exitCode = code
// A command that failed may have left work running (a server that started its engine, then could not listen), and a
// server that stopped at its shutdown deadline may have left a hung step's socket open: give output a moment to
// reach a pipe, then exit rather than hang. Unref'd, so a command that has finished everything exits at once.
setTimeout(() => process.exit(code), 1000).unref()
