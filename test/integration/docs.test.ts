// Docs that run: every shell block of README.md and docs/*.md marked `<!-- doc-test -->` runs against a fresh server.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from '../support/cli.ts'
import {
  describeFailure,
  docPaths,
  parseDoc,
  readDoc,
  runDoc,
  SHELL_LANGS,
  startDocSandbox,
  strayMarkers,
} from '../support/doc-test.ts'

// docs/tutorial.md runs in tutorial.test.ts, which also checks what its runs did.
const ELSEWHERE = new Set(['docs/tutorial.md'])

describe('docs that run', () => {
  it('marks every shell block of README.md and docs/*.md as runnable or skipped, and listings match their files', () => {
    const problems: string[] = []
    for (const doc of docPaths()) {
      const { text, blocks } = readDoc(doc)
      for (const b of blocks) {
        const where = `${doc}:${b.line}`
        if (b.marker?.kind === 'invalid') problems.push(`${where}: unreadable marker ${b.marker.text}`)
        else if (SHELL_LANGS.has(b.lang) && (b.marker === null || b.marker.kind === 'file'))
          problems.push(`${where}: a \`${b.lang}\` block needs <!-- doc-test --> or <!-- doc-test: skip (why) -->`)
        else if (b.marker?.kind === 'run' && !SHELL_LANGS.has(b.lang))
          problems.push(`${where}: <!-- doc-test --> on a \`${b.lang || 'plain'}\` block, which is not a shell block`)
        else if (b.marker?.kind === 'listing') {
          const file = join(ROOT, b.marker.path)
          const shown = b.lines.map((l) => l.text).join('\n')
          if (!existsSync(file)) problems.push(`${where}: lists ${b.marker.path}, which does not exist`)
          else if (readFileSync(file, 'utf8').trimEnd() !== shown.trimEnd())
            problems.push(`${where}: the listing differs from ${b.marker.path}; copy the file into the block`)
        }
      }
      for (const line of strayMarkers(text, blocks)) problems.push(`${doc}:${line}: a doc-test marker before no block`)
    }
    expect(problems).toEqual([])
  })

  describe('the runner', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'greenlight-doctest-self-'))
    afterAll(() => rmSync(cwd, { recursive: true, force: true }))
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd }

    it('names the document, the line that failed and what the failing block printed', async () => {
      const doc = [
        '# A doc',
        '<!-- doc-test -->',
        '```sh',
        'echo first block',
        '```',
        '',
        '<!-- doc-test -->',
        '```sh',
        'echo about to fail',
        'ls /no/such/dir',
        'echo never printed',
        '```',
      ].join('\n')
      const run = await runDoc(parseDoc('docs/broken.md', doc), { cwd, env })
      expect(run.code).not.toBe(0)
      expect(run.failure).toMatchObject({ block: 8, line: 10, command: 'ls /no/such/dir' })
      const report = describeFailure('docs/broken.md', run)
      expect(report).toContain('docs/broken.md:10: the block at line 8 failed')
      expect(report).toContain('about to fail')
      expect(report).toContain('/no/such/dir')
      expect(report).not.toContain('first block')
      expect(report).not.toContain('never printed')
    })

    it('runs only `$ ` lines where a block shows output, shares one shell per document, writes file blocks', async () => {
      const doc = [
        '<!-- doc-test: file greeting.txt -->',
        '```text',
        'hello from a file block',
        '```',
        '<!-- doc-test -->',
        '```sh',
        '$ who=$(cat greeting.txt) \\',
        '    && echo "$who"',
        'this is output the doc shows; running it would fail',
        '```',
        '<!-- doc-test: skip (shows a failure) -->',
        '```sh',
        'exit 7',
        '```',
        '<!-- doc-test -->',
        '```sh',
        'test "$who" = "hello from a file block"',
        '```',
      ].join('\n')
      const run = await runDoc(parseDoc('docs/ok.md', doc), { cwd, env })
      expect(run.code, describeFailure('docs/ok.md', run)).toBe(0)
      expect(run.output).toContain('hello from a file block')
    })

    it('fails a block that exits through pipefail or an unset variable', async () => {
      for (const line of ['false | cat', 'echo "$NOT_SET"']) {
        const run = await runDoc(parseDoc('d.md', `<!-- doc-test -->\n\`\`\`sh\n${line}\n\`\`\``), { cwd, env })
        expect(run.code, line).not.toBe(0)
        expect(run.failure?.block, line).toBe(2)
      }
    })
  })

  const runnable = docPaths().filter(
    (doc) => !ELSEWHERE.has(doc) && readDoc(doc).blocks.some((b) => b.marker?.kind === 'run'),
  )

  it('finds runnable blocks in the README and the tutorial', () => {
    expect(runnable).toContain('README.md')
    expect(readDoc('docs/tutorial.md').blocks.filter((b) => b.marker?.kind === 'run').length).toBeGreaterThan(3)
  })

  for (const doc of runnable) {
    it(`${doc}: its runnable blocks succeed against a fresh server`, async () => {
      const sandbox = await startDocSandbox()
      try {
        const run = await runDoc(readDoc(doc).blocks, { cwd: sandbox.cwd, env: sandbox.env, timeoutMs: 90_000 })
        expect(run.code, describeFailure(doc, run)).toBe(0)
      } finally {
        await sandbox.close()
      }
    }, 120_000)
  }
})
