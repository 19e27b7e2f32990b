// The layering rules of `npm run lint` (.dependency-cruiser.cjs): each one fails on a tree that breaks it, and src passes.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from '../support/cli.ts'

const CRUISER = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs')
const CONFIG = join(ROOT, '.dependency-cruiser.cjs')

interface Violation {
  from: string
  to: string
  rule: { name: string; severity: string }
}

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** `depcruise src --config .dependency-cruiser.cjs` as `npm run lint` runs it, in `cwd`. */
function depcruise(cwd: string, extra: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CRUISER, 'src', '--config', CONFIG, ...extra],
      { cwd, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
      },
    )
  })
}

/** The violations as `rule: from → to`, from the JSON report (whose exit code is always 0). */
async function violations(cwd: string): Promise<string[]> {
  const run = await depcruise(cwd, ['--output-type', 'json'])
  const report = JSON.parse(run.stdout) as { summary: { violations: Violation[] } }
  for (const v of report.summary.violations) expect(v.rule.severity).toBe('error')
  return report.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort()
}

describe('layering rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-layers-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }

  it('reports every forbidden import, type-only ones included, and a cycle', async () => {
    write('src/errors.ts', "import { id } from './core/ids.ts'\nexport const e = id\n")
    write('src/core/ids.ts', 'export const id = 1\n')
    write(
      'src/core/allowed.ts',
      "import { e } from '../errors.ts'\nimport { id } from './ids.ts'\nexport const ok = e + id\n",
    )
    write('src/core/flow.ts', "import type { Port } from '../engine/ports.ts'\nexport type Flow = Port\n")
    write(
      'src/core/flow.test.ts',
      "import { fake } from '../../test/support/fake.ts'\nimport { x } from '../../test/e2e/x.ts'\nexport const t = fake + x\n",
    )
    write('test/support/fake.ts', 'export const fake = 1\n')
    write('test/e2e/x.ts', 'export const x = 1\n')
    write('src/engine/ports.ts', 'export type Port = number\n')
    write('src/slack/types.ts', 'export type SlackThing = number\n')
    write('src/slack/surface.ts', "import { table } from '../store/table.ts'\nexport const s = table\n")
    write(
      'src/store/table.ts',
      "import type { SlackThing } from '../slack/types.ts'\nexport const table: SlackThing = 1\n",
    )
    write('src/steps/kv.ts', "import { table } from '../store/table.ts'\nexport const kv = table\n")
    write('src/http/a.ts', "import { b } from './b.ts'\nexport const a = () => b\n")
    write('src/http/b.ts', "import { a } from './a.ts'\nexport const b = () => a\n")

    const [found, lint] = await Promise.all([violations(dir), depcruise(dir)])

    expect(found).toEqual([
      'core-imports-only-core: src/core/flow.ts → src/engine/ports.ts',
      'core-tests-only-core: src/core/flow.test.ts → test/e2e/x.ts',
      'errors-is-a-leaf: src/errors.ts → src/core/ids.ts',
      expect.stringMatching(/^no-circular: src\/http\/[ab]\.ts → src\/http\/[ab]\.ts$/),
      'slack-not-to-store: src/slack/surface.ts → src/store/table.ts',
      'steps-not-to-store: src/steps/kv.ts → src/store/table.ts',
      'store-not-to-slack: src/store/table.ts → src/slack/types.ts',
    ])
    // As `npm run lint` runs it, the cruiser exits with the number of errors, so the lint (and CI) fails.
    expect(lint.code, lint.stdout + lint.stderr).toBe(found.length)
    expect(lint.stdout).toContain('error slack-not-to-store: src/slack/surface.ts → src/store/table.ts')
  })

  it('passes on the real src', async () => {
    const [found, lint] = await Promise.all([violations(ROOT), depcruise(ROOT)])
    expect(found).toEqual([])
    expect(lint.code, lint.stdout + lint.stderr).toBe(0)
  })
})
