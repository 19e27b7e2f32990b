// Doc-tests: finds the marked shell blocks of a Markdown document and runs them, in order, against a real server.
//
// The convention (README.md, "Contributing to the docs"): an HTML comment on the line before a fenced block says what
// the doc-test does with it.
//   <!-- doc-test -->                  run the block (bash, set -euo pipefail); all runnable blocks of one document
//                                      share one shell, so a variable set in one block is there in the next
//   <!-- doc-test: skip (why) -->      never run; the reason is required
//   <!-- doc-test: file <path> -->     write the block's text to <path> in the working directory (a file the doc
//                                      asks the reader to save), before the blocks after it run
//   <!-- doc-test: listing <path> -->  the block shows a file of the repository: its text must be that file's
// Every sh/bash/shell/console block must carry `doc-test` or `doc-test: skip (…)`. In a block with lines starting
// with `$ `, only those lines (and their `\` continuations) run; the other lines are output the doc shows.
import { spawn } from 'node:child_process'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { BIN, ROOT, spawnServe, stopChild } from './cli.ts'

export const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console'])

export type Marker =
  | { kind: 'run' }
  | { kind: 'skip'; reason: string }
  | { kind: 'file'; path: string }
  | { kind: 'listing'; path: string }
  | { kind: 'invalid'; text: string }

export interface DocBlock {
  /** Path of the document, relative to the repository. */
  doc: string
  /** 1-based line of the opening fence. */
  line: number
  lang: string
  marker: Marker | null
  /** The block's lines, each with its 1-based line in the document. */
  lines: { line: number; text: string }[]
}

const MARKER = /^<!--\s*doc-test(?::\s*(.*?))?\s*-->$/

function parseMarker(text: string): Marker | null {
  const match = MARKER.exec(text.trim())
  if (!match) return /^\s*<!--\s*doc-test/.test(text) ? { kind: 'invalid', text } : null
  const rest = match[1]
  if (rest === undefined) return { kind: 'run' }
  const skip = /^skip\s*\((.+)\)$/.exec(rest)
  if (skip?.[1]?.trim()) return { kind: 'skip', reason: skip[1].trim() }
  const file = /^file\s+(\S+)$/.exec(rest)
  if (file?.[1]) return { kind: 'file', path: file[1] }
  const listing = /^listing\s+(\S+)$/.exec(rest)
  if (listing?.[1]) return { kind: 'listing', path: listing[1] }
  return { kind: 'invalid', text }
}

/** Every fenced block of a document, with the marker on the nearest non-blank line before it (if any). */
export function parseDoc(doc: string, text: string): DocBlock[] {
  const lines = text.split('\n')
  const blocks: DocBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i] ?? '')
    if (!open) continue
    const fence = open[2] ?? '```'
    let before = i - 1
    while (before >= 0 && (lines[before] ?? '').trim() === '') before--
    const block: DocBlock = {
      doc,
      line: i + 1,
      lang: open[3] ?? '',
      marker: before >= 0 ? parseMarker(lines[before] ?? '') : null,
      lines: [],
    }
    let j = i + 1
    for (; j < lines.length; j++) {
      const l = lines[j] ?? ''
      if (l.trimStart().startsWith(fence[0]?.repeat(fence.length) ?? fence) && l.trim().replace(/[`~]/g, '') === '')
        break
      block.lines.push({ line: j + 1, text: l })
    }
    blocks.push(block)
    i = j
  }
  return blocks
}

/** Marker comments that precede no fenced block (a typo, or a block that moved away from its marker). */
export function strayMarkers(text: string, blocks: DocBlock[]): number[] {
  const owned = new Set<number>()
  const lines = text.split('\n')
  for (const b of blocks) {
    let before = b.line - 2
    while (before >= 0 && (lines[before] ?? '').trim() === '') before--
    owned.add(before + 1)
  }
  const stray: number[] = []
  lines.forEach((l, i) => {
    if (/^\s*<!--\s*doc-test/.test(l) && !owned.has(i + 1)) stray.push(i + 1)
  })
  return stray
}

/** The lines of a block that run: all of them, or only the `$ ` lines and their continuations when it has any. */
export function commandsOf(block: DocBlock): { line: number; text: string }[] {
  if (!block.lines.some((l) => l.text.startsWith('$ '))) return block.lines
  const out: { line: number; text: string }[] = []
  let continued = false
  for (const l of block.lines) {
    if (l.text.startsWith('$ ')) out.push({ line: l.line, text: l.text.slice(2) })
    else if (continued) out.push(l)
    else continue
    continued = l.text.trimEnd().endsWith('\\')
  }
  return out
}

export interface DocRun {
  code: number
  /** stdout and stderr of the whole document, interleaved. */
  output: string
  /** When it failed: the block and line that failed, and the output of that block. */
  failure: { block: number; line: number | null; command: string; output: string } | null
}

const BLOCK_MARK = '@@doc-test block '
const FAIL_MARK = '@@doc-test failed '

/**
 * Runs a document's runnable blocks in one bash, in `cwd`. The ERR trap names the script line that failed, which
 * maps back to the document's line.
 */
export function runDoc(
  blocks: DocBlock[],
  options: { cwd: string; env: Record<string, string>; timeoutMs?: number },
): Promise<DocRun> {
  const script: string[] = [
    'set -eEuo pipefail',
    'exec 2>&1',
    `trap 'echo "${FAIL_MARK}$LINENO $BASH_COMMAND"' ERR`,
    // Background processes a doc starts (an agent) end with it.
    `trap 'kill $(jobs -p) 2>/dev/null || true' EXIT`,
  ]
  const docLine: (number | null)[] = script.map(() => null)
  const push = (text: string, line: number | null) => {
    script.push(text)
    docLine.push(line)
  }
  for (const block of blocks) {
    if (block.marker?.kind === 'file') {
      const target = block.marker.path
      mkdirSync(dirname(resolve(options.cwd, target)), { recursive: true })
      // Written when its turn comes, so a later block may read it and an earlier one never sees it.
      const data = Buffer.from(`${block.lines.map((l) => l.text).join('\n')}\n`).toString('base64')
      push(`echo '${BLOCK_MARK}${block.line}'; printf '%s' '${data}' | base64 -d > '${target}'`, block.line)
      continue
    }
    if (block.marker?.kind !== 'run') continue
    push(`echo '${BLOCK_MARK}${block.line}'`, block.line)
    for (const c of commandsOf(block)) push(c.text, c.line)
  }
  return new Promise((resolvePromise) => {
    const child = spawn('bash', ['-c', `${script.join('\n')}\n`], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let output = ''
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString()
    })
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString()
    })
    const timer = setTimeout(() => {
      output += `\n${FAIL_MARK}timeout after ${options.timeoutMs} ms\n`
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    }, options.timeoutMs ?? 120_000)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      // Let the last bytes arrive, then report.
      setTimeout(() => {
        const rc = code ?? (signal ? 128 : 1)
        resolvePromise({ code: rc, output, failure: rc === 0 ? null : failureOf(output, docLine) })
      }, 50)
    })
  })
}

function failureOf(output: string, docLine: (number | null)[]): DocRun['failure'] {
  const starts = [...output.matchAll(new RegExp(`^${BLOCK_MARK}(\\d+)$`, 'gm'))]
  const last = starts.at(-1)
  const block = last ? Number(last[1]) : 0
  const blockOutput = last ? output.slice((last.index ?? 0) + last[0].length + 1) : output
  const failed = new RegExp(`^${FAIL_MARK}(\\d+) (.*)$`, 'm').exec(blockOutput)
  const scriptLine = failed ? Number(failed[1]) : null
  return {
    block,
    line: scriptLine === null ? null : (docLine[scriptLine - 1] ?? null),
    command: failed?.[2] ?? '(unknown: the shell ended without an error trap, e.g. a timeout)',
    output: blockOutput.replace(new RegExp(`^${FAIL_MARK}.*\\n?`, 'gm'), ''),
  }
}

/** A failure as the test reports it: the document, the block's line, the line that failed and what it printed. */
export function describeFailure(doc: string, run: DocRun): string {
  const f = run.failure
  if (!f) return `${doc}: ok`
  const tail = f.output.length > 6000 ? `…${f.output.slice(-6000)}` : f.output
  return `${doc}:${f.line ?? f.block}: the block at line ${f.block} failed (exit ${run.code}) at \`${f.command}\`\n--- output of that block ---\n${tail}`
}

export interface DocSandbox {
  /** The working directory blocks run in; `examples/` there is the repository's. */
  cwd: string
  env: Record<string, string>
  url: string
  token: string
  close(): Promise<void>
}

/**
 * A fresh server (`greenlight serve`, PORT=0, its own data directory) and a working directory for a document's
 * blocks, with `greenlight` (and `npx greenlight`) on PATH running this checkout's bin, as in a clone.
 */
export async function startDocSandbox(extraEnv: Record<string, string> = {}): Promise<DocSandbox> {
  const root = mkdtempSync(join(tmpdir(), 'greenlight-doctest-'))
  const cwd = join(root, 'work')
  const shims = join(root, 'bin')
  const dataDir = join(root, 'data')
  mkdirSync(cwd)
  mkdirSync(shims)
  symlinkSync(join(ROOT, 'examples'), join(cwd, 'examples'))
  const shim = (name: string, body: string) => {
    writeFileSync(join(shims, name), `#!/bin/sh\n${body}\n`)
    chmodSync(join(shims, name), 0o755)
  }
  shim('greenlight', `exec '${process.execPath}' '${BIN}' "$@"`)
  // In a clone `npx greenlight` runs the checkout's own bin; anything else goes to the real npx.
  shim('npx', `if [ "\${1:-}" = greenlight ]; then shift; exec greenlight "$@"; fi\nexec '${npxPath()}' "$@"`)
  const { child, url } = await spawnServe({ cwd: root, env: { PORT: '0', GREENLIGHT_DATA_DIR: dataDir } })
  const token = readFileSync(join(dataDir, 'cli-token'), 'utf8').trim()
  const env: Record<string, string> = {
    PATH: `${shims}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? root,
    LANG: 'C.UTF-8',
    GREENLIGHT_URL: url,
    GREENLIGHT_TOKEN: token,
    ...extraEnv,
  }
  return {
    cwd,
    env,
    url,
    token,
    async close() {
      await stopChild(child)
      rmSync(root, { recursive: true, force: true })
    },
  }
}

function npxPath(): string {
  return join(dirname(process.execPath), 'npx')
}

/** The documents doc-tests cover: README.md and docs/*.md. */
export function docPaths(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))
  return ['README.md', ...docs.sort().map((f) => `docs/${f}`)]
}

export function readDoc(doc: string): { text: string; blocks: DocBlock[] } {
  const text = readFileSync(join(ROOT, doc), 'utf8')
  return { text, blocks: parseDoc(doc, text) }
}
