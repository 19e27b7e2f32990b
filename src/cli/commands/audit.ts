// `greenlight audit verify|export` (a run's keyed event chain is intact; a file of it that verifies offline) and
// `greenlight usage` (billable executions).
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type ExportHeader, firstProblem, verifyExport } from '../../core/audit-export.ts'
import { deriveChainKey } from '../../core/hash-chain.ts'
import { AppError } from '../../errors.ts'
import {
  type Command,
  type CommandContext,
  type CommandResult,
  expectPositionals,
  type ParsedArgs,
  positional,
  stringOption,
  usageError,
} from '../command.ts'

interface AuditView {
  run_id: string
  /** ok | tampered | pruned (retention removed its events; the ledger kept the chain's last hash). */
  status?: string
  events: number
  ok: boolean
  problems: unknown[]
}

const SECRET_KEY_HINT =
  "Set GREENLIGHT_SECRET_KEY to the exporting instance's key, or GREENLIGHT_DATA_DIR to the directory holding its secret.key."

/** The instance key, read here rather than asked of a server: an export is checked where no server may run. */
function readSecretKey(ctx: CommandContext): Buffer {
  const fromEnv = ctx.env.GREENLIGHT_SECRET_KEY
  const path = join(ctx.config.dataDir, 'secret.key')
  let raw = fromEnv
  if (raw === undefined || raw === '') {
    try {
      raw = readFileSync(path, 'utf8').trim()
    } catch {
      throw new AppError(
        'not_configured',
        `No secret key: GREENLIGHT_SECRET_KEY is not set and ${path} does not exist.`,
        {
          hint: SECRET_KEY_HINT,
        },
      )
    }
  }
  const key = Buffer.from(raw, 'base64')
  if (key.length !== 32 || !/^[A-Za-z0-9+/=_-]+$/.test(raw)) {
    const where = fromEnv ? 'GREENLIGHT_SECRET_KEY' : path
    throw new AppError('invalid_secret_key', `${where} does not hold a 32-byte base64 key.`, { hint: SECRET_KEY_HINT })
  }
  return key
}

function verifyFile(ctx: CommandContext, file: string): CommandResult {
  const path = resolve(ctx.cwd, file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new AppError('file_unreadable', `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code}.`, {
      hint: "Pass the file 'greenlight audit export --out' wrote.",
    })
  }
  const report = verifyExport(deriveChainKey(readSecretKey(ctx)), text)
  const audit = { file: path, ...report }
  const first = firstProblem(report)
  if (first) {
    throw new AppError('audit_failed', `The audit file ${file} was changed: line ${first.line}: ${first.message}`, {
      status: 409,
      hint: "Compare that line with the server's record ('greenlight runs events <run>'), or export again.",
      details: audit,
    })
  }
  return { data: { audit }, next: report.runs.slice(0, 3).map((r) => `greenlight audit verify ${r.run_id}`) }
}

export const verify: Command = {
  name: 'audit verify',
  usage: 'greenlight audit verify <run> | --file <export.jsonl>   (--file: offline, with the secret key)',
  summary: "Check that a run's event chain, or an audit export file, was not changed or cut.",
  options: { file: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const file = stringOption(args, 'file')
    if (file !== undefined) {
      if (args.positionals.length > 0) throw usageError('Give a run or --file, not both.', this.usage)
      if (file === '') throw usageError('--file needs a file name.', this.usage)
      return verifyFile(ctx, file)
    }
    const id = positional(args, 0, 'run', this.usage)
    const { audit } = (await ctx.api().get(`/runs/${encodeURIComponent(id)}/audit`)) as { audit: AuditView }
    // Pruned is no failure (nothing was changed) and no pass (nothing is left to check): exit 0, status `pruned`.
    if (audit.status === 'pruned') return { data: { audit }, next: ['greenlight runs list'] }
    if (!audit.ok) {
      throw new AppError(
        'audit_failed',
        `The event chain of run ${id} is broken: ${audit.problems.length} problem(s).`,
        {
          status: 409,
          hint: `Compare with 'greenlight runs events ${id}'; a changed or deleted event breaks the chain from there on.`,
          details: { ...audit },
        },
      )
    }
    return { data: { audit }, next: [`greenlight runs events ${id}`] }
  },
}

function instant(args: ParsedArgs, name: string, usage: string): string | undefined {
  const value = stringOption(args, name)
  if (value === undefined) return undefined
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN
  if (Number.isNaN(at)) throw usageError(`--${name} '${value}' is not an ISO 8601 time (2026-11-01T00:00:00Z).`, usage)
  return new Date(at).toISOString()
}

/** The export's first line; only a Greenlight server answers this route with one. */
function headerOf(body: Buffer): ExportHeader {
  try {
    const header = JSON.parse(body.toString('utf8', 0, Math.max(body.indexOf(10), 0))) as ExportHeader
    if (Array.isArray(header.runs)) return header
  } catch {
    // Not JSON: answered below, as a header of the wrong shape is.
  }
  throw new AppError('bad_response', 'The server answered the export with something that is not an audit export.', {
    status: 502,
    hint: 'Check that GREENLIGHT_URL points at a Greenlight server of this version.',
  })
}

export const exportRuns: Command = {
  name: 'audit export',
  usage: 'greenlight audit export <run>… | --from <ISO time> [--to <ISO time>]  --out <file.jsonl>',
  summary: "Write runs' events as a JSON Lines file that verifies offline.",
  options: { out: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
  async run(ctx, args) {
    const out = stringOption(args, 'out')
    if (out === undefined || out === '') throw usageError('--out <file> is required.', this.usage)
    const from = instant(args, 'from', this.usage)
    const to = instant(args, 'to', this.usage)
    const ids = args.positionals
    if (ids.length === 0 && from === undefined && to === undefined)
      throw usageError('Name the runs, or a time range with --from/--to.', this.usage)
    if (ids.length > 0 && (from !== undefined || to !== undefined))
      throw usageError('Name runs or a time range, not both.', this.usage)
    const pairs: [string, string][] = ids.map((id) => ['run', id])
    if (from !== undefined) pairs.push(['from', from])
    if (to !== undefined) pairs.push(['to', to])
    const query = new URLSearchParams(pairs)
    const { body } = await ctx.api().getBytes(`/audit/export?${query}`)
    const header = headerOf(body)
    const path = resolve(ctx.cwd, out)
    try {
      writeFileSync(path, body)
    } catch (error) {
      throw new AppError('file_unwritable', `Cannot write ${out}: ${(error as NodeJS.ErrnoException).code}.`, {
        hint: 'Check that the directory exists and is writable.',
      })
    }
    const runs = header.runs.map(({ run_id, events, scheme }) => ({ run_id, events, scheme }))
    return {
      data: { export: { file: path, scheme: header.scheme, exported_at: header.exported_at, runs } },
      next: [`greenlight audit verify --file ${out}`],
    }
  },
}

function currentMonth(): string {
  return new Date().toISOString().slice(0, 7)
}

function previousMonth(month: string): string {
  const [year, mon] = month.split('-').map(Number) as [number, number]
  return new Date(Date.UTC(year, mon - 2, 1)).toISOString().slice(0, 7)
}

export const usage: Command = {
  name: 'usage',
  usage: 'greenlight usage [--month YYYY-MM]   (default: the current month, UTC)',
  summary: 'Billable step executions per flow for a month.',
  options: { month: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const month = stringOption(args, 'month') ?? currentMonth()
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw usageError(`'${month}' is not a month (YYYY-MM).`, this.usage)
    const data = await ctx.api().get(`/usage?month=${month}`)
    return { data, next: [`greenlight usage --month ${previousMonth(month)}`, 'greenlight runs list'] }
  },
}
