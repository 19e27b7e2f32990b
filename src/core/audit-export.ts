// The audit export file: a header line the chain key signs (which runs, how many events, their heads), then one line
// per event with its hash and its predecessor's; whoever holds the secret key can check it with nothing else.
import type { KeyObject } from 'node:crypto'
import {
  type ChainProblem,
  type ChainScheme,
  chainMac,
  PLAIN_CHAIN_NOTE,
  type StoredEvent,
  verifyChain,
} from './hash-chain.ts'

export const EXPORT_FORMAT = 1

export interface ExportedRun {
  run_id: string
  events: number
  head: string
  scheme: ChainScheme
}

export interface ExportHeader {
  greenlight_audit_export: number
  /** How the header is signed and new events are chained; each run names its own chain's scheme. */
  scheme: 'hmac-sha256'
  exported_at: string
  runs: ExportedRun[]
  mac: string
}

export function exportHeader(key: KeyObject, runs: ExportedRun[], exportedAt: Date): ExportHeader {
  const unsigned = {
    greenlight_audit_export: EXPORT_FORMAT,
    scheme: 'hmac-sha256' as const,
    exported_at: exportedAt.toISOString(),
    runs,
  }
  return { ...unsigned, mac: chainMac(key, 'audit-export', unsigned) }
}

/** One event as a line: exactly the fields its hash covers, plus the hashes. */
export function exportLine(event: StoredEvent): string {
  return JSON.stringify({
    run_id: event.runId,
    seq: event.seq,
    type: event.type,
    at: event.at,
    actor: event.actor,
    step: event.stepId,
    data: event.data,
    prev_hash: event.prevHash,
    hash: event.hash,
  })
}

export interface FileProblem {
  /** 1-based line of the file. */
  line: number
  seq?: number
  problem: ChainProblem['problem'] | 'malformed_line' | 'header_mismatch' | 'unknown_run'
  message: string
}

export interface RunFileReport {
  run_id: string
  events: number
  scheme: ChainScheme
  ok: boolean
  note?: string
  problems: FileProblem[]
}

export interface FileReport {
  ok: boolean
  scheme: 'hmac-sha256'
  exported_at: string | null
  runs: RunFileReport[]
  /** Problems of the file itself: its header, lines that are not events, events of runs the header does not list. */
  problems: FileProblem[]
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const nullableString = (v: unknown) => v === null || typeof v === 'string'

function parseLine(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function asEvent(value: unknown): StoredEvent | undefined {
  if (!isObject(value)) return undefined
  const { run_id, seq, type, at, actor, step, data, prev_hash, hash } = value
  const ok =
    typeof run_id === 'string' &&
    Number.isSafeInteger(seq) &&
    typeof type === 'string' &&
    typeof at === 'number' &&
    nullableString(actor) &&
    nullableString(step) &&
    'data' in value &&
    typeof prev_hash === 'string' &&
    typeof hash === 'string'
  if (!ok) return undefined
  return {
    runId: run_id,
    seq: seq as number,
    type,
    at,
    actor: actor as string | null,
    stepId: step as string | null,
    data,
    prevHash: prev_hash,
    hash,
  }
}

function asHeader(value: unknown): ExportHeader | undefined {
  if (!isObject(value) || value.greenlight_audit_export !== EXPORT_FORMAT || value.scheme !== 'hmac-sha256')
    return undefined
  if (typeof value.exported_at !== 'string' || typeof value.mac !== 'string' || !Array.isArray(value.runs))
    return undefined
  const runs = value.runs as unknown[]
  const valid = runs.every(
    (r) =>
      isObject(r) &&
      typeof r.run_id === 'string' &&
      Number.isSafeInteger(r.events) &&
      typeof r.head === 'string' &&
      (r.scheme === 'hmac-sha256' || r.scheme === 'sha256'),
  )
  const ids = new Set(runs.map((r) => (r as ExportedRun).run_id))
  return valid && ids.size === runs.length ? (value as unknown as ExportHeader) : undefined
}

function verifyRun(key: KeyObject, run: ExportedRun, events: StoredEvent[], lines: number[]): RunFileReport {
  const report = verifyChain(key, events, { count: run.events, lastHash: run.head })
  // A problem noticed past the last event (a cut tail) points at the run's last line, or the header when it has none.
  const lineOf = (index: number) => lines[Math.min(index, lines.length - 1)] ?? 1
  const problems: FileProblem[] = report.problems.map(({ index, ...p }) => ({ line: lineOf(index), ...p }))
  // The header's word on the scheme is signed; a chain that disagrees was changed in the file.
  if (problems.length === 0 && report.scheme !== run.scheme) {
    problems.push({
      line: 1,
      seq: 0,
      problem: 'header_mismatch',
      message: `The header says run ${run.run_id} is chained with ${run.scheme}; its events say ${report.scheme}.`,
    })
  }
  return {
    run_id: run.run_id,
    events: events.length,
    scheme: report.scheme,
    ok: problems.length === 0,
    ...(report.plainEvents > 0 ? { note: PLAIN_CHAIN_NOTE } : {}),
    problems,
  }
}

/** Checks an export file's text; never throws, whatever the text. */
export function verifyExport(key: KeyObject, text: string): FileReport {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const problems: FileProblem[] = []
  const header = asHeader(parseLine(lines[0] ?? ''))
  if (!header) {
    const message = 'Line 1 is not the header of a Greenlight audit export.'
    return {
      ok: false,
      scheme: 'hmac-sha256',
      exported_at: null,
      runs: [],
      problems: [{ line: 1, problem: 'malformed_line', message }],
    }
  }
  const { mac, ...unsigned } = header
  if (chainMac(key, 'audit-export', unsigned) !== mac) {
    problems.push({
      line: 1,
      problem: 'header_mismatch',
      message: "The header's signature does not match: the header was changed, or the key is not the exporter's.",
    })
  }
  const byRun = new Map(header.runs.map((run) => [run.run_id, { events: [] as StoredEvent[], lines: [] as number[] }]))
  for (const [i, text] of lines.entries()) {
    if (i === 0) continue
    const event = asEvent(parseLine(text))
    if (!event) {
      problems.push({ line: i + 1, problem: 'malformed_line', message: `Line ${i + 1} is not an event.` })
      continue
    }
    const run = byRun.get(event.runId)
    if (!run) {
      const message = `Line ${i + 1} holds an event of run ${event.runId}, which the header does not list.`
      problems.push({ line: i + 1, seq: event.seq, problem: 'unknown_run', message })
      continue
    }
    run.events.push(event)
    run.lines.push(i + 1)
  }
  const runs = header.runs.map((run) => {
    const found = byRun.get(run.run_id) ?? { events: [], lines: [] }
    return verifyRun(key, run, found.events, found.lines)
  })
  return {
    ok: problems.length === 0 && runs.every((r) => r.ok),
    scheme: header.scheme,
    exported_at: header.exported_at,
    runs,
    problems,
  }
}

/** The first problem in file order, to name in a message. */
export function firstProblem(report: FileReport): FileProblem | undefined {
  return [...report.problems, ...report.runs.flatMap((r) => r.problems)].sort((a, b) => a.line - b.line)[0]
}
