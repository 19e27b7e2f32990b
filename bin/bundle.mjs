#!/usr/bin/env node
// Bundles what `greenlight serve` runs (the CLI and the expression evaluator) into dist/ now, for installs whose
// app directory is read-only at run time (a container image, a hardened systemd unit).
import { ensureBuilt } from './build.mjs'

for (const entry of ['src/cli/main.ts', 'src/sandbox/expression-child.ts']) await ensureBuilt(entry)
