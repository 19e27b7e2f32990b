// The audit export file: what verifies, and that no edit of any line of it does, whatever the edit.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, NASTY_CHARS, randomJson } from '../../test/support/fuzz-env.ts'
import { type ExportedRun, exportHeader, exportLine, firstProblem, verifyExport } from './audit-export.ts'
import { deriveChainKey, eventHash, plainEventHash, type StoredEvent } from './hash-chain.ts'

const key = deriveChainKey(randomBytes(32))
const random = createRandom(fuzzSeed(20261123))
const VALUES = { chosen: ['', 'approve', 'reject', '\u2028', 'é漢🚀'], keys: ['decision', 'comment', 'a', '__proto__'] }

function chainOf(runId: string, n: number, plain = 0): StoredEvent[] {
  const events: StoredEvent[] = []
  let prev = ''
  for (let seq = 1; seq <= n; seq++) {
    const data = randomJson(random, VALUES)
    const e = {
      runId,
      seq,
      type: 'approval.voted',
      at: 1_700_000_000_000 + seq,
      actor: 'U0ANN',
      stepId: 'review',
      data,
    }
    const hash = seq <= plain ? plainEventHash(prev, e) : eventHash(key, prev, e)
    events.push({ ...e, prevHash: prev, hash })
    prev = hash
  }
  return events
}

function fileOf(chains: StoredEvent[][]): string {
  const runs: ExportedRun[] = chains.map((events) => ({
    run_id: events[0]?.runId ?? '',
    events: events.length,
    head: events.at(-1)?.hash ?? '',
    scheme: events.some((e) => !e.hash.startsWith('hmac-sha256:')) ? 'sha256' : 'hmac-sha256',
  }))
  const header = JSON.stringify(exportHeader(key, runs, new Date(0)))
  return `${[header, ...chains.flat().map(exportLine)].join('\n')}\n`
}

describe('audit export file', () => {
  it('verifies as written, plain-then-keyed chains included, and names their scheme', () => {
    const report = verifyExport(key, fileOf([chainOf('run_a', 4), chainOf('run_b', 5, 3)]))
    expect(report.ok, JSON.stringify(report)).toBe(true)
    expect(report.runs.map((r) => [r.run_id, r.scheme, r.events])).toEqual([
      ['run_a', 'hmac-sha256', 4],
      ['run_b', 'sha256', 5],
    ])
    expect(report.runs[1]?.note).toMatch(/plain SHA-256/)
  })

  it('refuses a file under another key, and text that is no export at all', () => {
    const text = fileOf([chainOf('run_a', 2)])
    const other = verifyExport(deriveChainKey(randomBytes(32)), text)
    expect(other.ok).toBe(false)
    expect(firstProblem(other)).toMatchObject({ line: 1, problem: 'header_mismatch' })
    for (const junk of ['', '\n', 'null', '{}', '[1]', 'not json', '{"greenlight_audit_export":1}']) {
      expect(verifyExport(key, junk)).toMatchObject({ ok: false, problems: [{ line: 1, problem: 'malformed_line' }] })
    }
  })

  it('finds every edit to a line, a dropped line and a repeated one, at that line, and never throws', () => {
    for (let round = 0; round < fuzzRuns(300); round++) {
      const text = fileOf([chainOf('run_a', 1 + random.int(4)), chainOf('run_b', 1 + random.int(4), random.int(3))])
      const lines = text.trimEnd().split('\n')
      const at = random.int(lines.length)
      const line = lines[at] as string
      const edited = [...lines]
      const kind = random.pick(['char', 'drop', 'repeat'] as const)
      if (kind === 'char') {
        const i = random.int(line.length)
        let c = random.pick([...`${NASTY_CHARS}0123456789abcdef`])
        if (c === line[i]) c = c === 'x' ? 'y' : 'x'
        edited[at] = line.slice(0, i) + c + line.slice(i + 1)
      } else if (kind === 'drop') edited.splice(at, 1)
      else edited.splice(at, 0, line)
      const report = verifyExport(key, `${edited.join('\n')}\n`)
      expect(report.ok, `${kind} at line ${at + 1}: ${edited[at]}`).toBe(false)
      const lineNumbers = [...report.problems, ...report.runs.flatMap((r) => r.problems)].map((p) => p.line)
      if (kind === 'char') expect(lineNumbers, `${JSON.stringify(report)}`).toContain(at + 1)
    }
  })
})
