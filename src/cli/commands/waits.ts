// `greenlight waits …`: what runs wait on (approvals, callbacks, inputs, jobs), completing them and voting.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { AppError } from '../../errors.ts'
import {
  type Command,
  expectPositionals,
  type OptionSpec,
  type ParsedArgs,
  positional,
  stringOption,
  usageError,
} from '../command.ts'

interface WaitView {
  id: string
  run_id: string
  step: string
  kind: string
  status: string
  edit?: { fields: { name: string }[] }
}

interface VoteView {
  recorded: boolean
  duplicate: boolean
  run_id: string
  wait_id: string
  tally: { approvals: number; required: number }
  outcome: string | null
  edited?: string[]
}

const KINDS = ['approval', 'wait', 'input', 'job']

function nextForWait(wait: WaitView): string[] {
  if (wait.status !== 'open') return [`greenlight runs show ${wait.run_id}`]
  if (wait.kind === 'approval') {
    const field = wait.edit?.fields[0]?.name
    return [
      `greenlight waits approve ${wait.id} --comment "…"`,
      ...(field ? [`greenlight waits approve ${wait.id} --edit ${field}="…"`] : []),
      `greenlight waits request-changes ${wait.id} --comment "…"`,
      `greenlight waits reject ${wait.id} --comment "…"`,
    ]
  }
  if (wait.kind === 'sleep') return [`greenlight runs show ${wait.run_id}`]
  return [`greenlight waits complete ${wait.id} --payload '{…}'`, `greenlight runs show ${wait.run_id}`]
}

export const list: Command = {
  name: 'waits list',
  usage: 'greenlight waits list [--run <run>] [--kind approval|wait|input|job] [--all]',
  summary: 'List open waits and approvals (--all: every status).',
  options: { run: { type: 'string' }, kind: { type: 'string' }, all: { type: 'boolean' } },
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const kind = stringOption(args, 'kind')
    if (kind !== undefined && !KINDS.includes(kind))
      throw usageError(`'${kind}' is not a wait kind (${KINDS.join(', ')}).`, this.usage)
    const query = new URLSearchParams({ status: args.values.all ? 'all' : 'open' })
    const run = stringOption(args, 'run')
    if (run) query.set('run', run)
    if (kind) query.set('kind', kind)
    const data = (await ctx.api().get(`/waits?${query}`)) as { waits: WaitView[] }
    const next = data.waits.slice(0, 3).flatMap((w) => nextForWait(w).slice(0, 1))
    return { data, next: next.length > 0 ? next : ['greenlight runs list --status waiting'] }
  },
}

export const show: Command = {
  name: 'waits show',
  usage: 'greenlight waits show <wait> [--callback-url]   (--callback-url: admin only, recorded in the run)',
  summary: 'Show one wait or approval, with its votes.',
  options: { 'callback-url': { type: 'boolean' } },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const id = positional(args, 0, 'wait', this.usage)
    const path = `/waits/${encodeURIComponent(id)}${args.values['callback-url'] ? '/callback-url' : ''}`
    const data = (await ctx.api().get(path)) as { wait: WaitView; callback_url?: string }
    return {
      data,
      next: nextForWait(data.wait),
      ...(data.callback_url
        ? { meta: { warning: 'Whoever holds this URL can complete the wait; the read is recorded.' } }
        : {}),
    }
  },
}

function readPayload(ctx: { cwd: string }, args: ParsedArgs, usage: string): unknown {
  const inline = stringOption(args, 'payload')
  const file = stringOption(args, 'payload-file')
  const stdin = args.positionals[1] === '-' || file === '-'
  const sources = [inline !== undefined, file !== undefined, args.positionals[1] === '-'].filter(Boolean).length
  if (sources !== 1)
    throw usageError("Give the payload once: --payload '<json>', --payload-file <file>, or '-'.", usage)
  let text: string
  let origin: string
  if (inline !== undefined) {
    text = inline
    origin = '--payload'
  } else {
    origin = stdin ? 'stdin' : (file as string)
    try {
      text = readFileSync(stdin ? 0 : resolve(ctx.cwd, file as string), 'utf8')
    } catch (error) {
      throw new AppError(
        'file_unreadable',
        `Cannot read ${origin}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
        {
          status: 400,
          hint: 'Check the path.',
        },
      )
    }
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new AppError('invalid_json', `The payload from ${origin} is not valid JSON: ${(error as Error).message}`, {
      status: 400,
      hint: `Usage: ${usage}`,
    })
  }
}

export const complete: Command = {
  name: 'waits complete',
  usage: "greenlight waits complete <wait> (--payload '<json>' | --payload-file <file> | -)",
  summary: 'Complete a wait, job or input with a JSON payload.',
  options: { payload: { type: 'string' }, 'payload-file': { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 2, this.usage)
    const id = positional(args, 0, 'wait', this.usage)
    if (args.positionals[1] !== undefined && args.positionals[1] !== '-')
      throw usageError(`Unexpected argument '${args.positionals[1]}'.`, this.usage)
    const payload = readPayload(ctx, args, this.usage)
    const data = (await ctx.api().post(`/waits/${encodeURIComponent(id)}/complete`, { payload })) as {
      completed: { run_id: string }
    }
    return { data, next: [`greenlight runs show ${data.completed.run_id}`] }
  },
}

const EDIT_NAME = /^[a-z][a-z0-9_]{0,62}$/

/** A JSON object of field names to text, from --edits-file (a path, or '-' for stdin). */
function readEditsFile(ctx: { cwd: string }, file: string, usage: string): Record<string, string> {
  const origin = file === '-' ? 'stdin' : file
  let text: string
  try {
    text = readFileSync(file === '-' ? 0 : resolve(ctx.cwd, file), 'utf8')
  } catch (error) {
    throw new AppError(
      'file_unreadable',
      `Cannot read ${origin}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
      {
        status: 400,
        hint: "Check the path ('-' reads stdin).",
      },
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new AppError('invalid_json', `The edits from ${origin} are not valid JSON: ${(error as Error).message}`, {
      status: 400,
      hint: `Usage: ${usage}`,
    })
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw usageError(
      `The edits from ${origin} must be a JSON object of field names to text, e.g. {"reply": "…"}.`,
      usage,
    )
  const wrong = Object.entries(parsed).find(([name, value]) => !EDIT_NAME.test(name) || typeof value !== 'string')
  if (wrong) throw usageError(`In ${origin}, '${wrong[0]}' must be a field name (a-z, 0-9, _) holding text.`, usage)
  return parsed as Record<string, string>
}

/**
 * The edits of `waits approve`: `--edit name=value` (repeatable; the value may hold '=' and be empty) and/or
 * `--edits-file F`; undefined when none were given. A field named twice is refused rather than silently picked.
 */
function readEdits(ctx: { cwd: string }, args: ParsedArgs, usage: string): Record<string, string> | undefined {
  const raw = args.values.edit
  const flags = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []).map(String)
  const file = stringOption(args, 'edits-file')
  if (flags.length === 0 && file === undefined) return undefined
  const edits: Record<string, string> = file === undefined ? {} : readEditsFile(ctx, file, usage)
  const fromFlags = new Set<string>()
  for (const flag of flags) {
    const at = flag.indexOf('=')
    const name = at < 0 ? flag : flag.slice(0, at)
    if (at < 0 || !EDIT_NAME.test(name))
      throw usageError(`--edit takes name=value (a field name of a-z, 0-9, _), got '${flag.slice(0, 80)}'.`, usage)
    if (fromFlags.has(name) || Object.hasOwn(edits, name))
      throw usageError(`The field '${name}' is edited twice; give it once.`, usage)
    fromFlags.add(name)
    edits[name] = flag.slice(at + 1)
  }
  return edits
}

function voteCommand(
  decision: 'approve' | 'reject' | 'request-changes',
  summary: string,
  commentRequired: boolean,
): Command {
  const comment = commentRequired ? '--comment "<why>"' : '[--comment "…"]'
  const editable = decision === 'approve'
  return {
    name: `waits ${decision}`,
    usage: `greenlight waits ${decision} <wait> ${comment} [--digest <sha256>]${editable ? ' [--edit <field>=<text> …] [--edits-file <file.json>|-]' : ''}`,
    summary,
    options: {
      comment: { type: 'string' },
      digest: { type: 'string' },
      ...(editable ? { edit: { type: 'string', multiple: true }, 'edits-file': { type: 'string' } } : {}),
    } as OptionSpec,
    async run(ctx, args) {
      expectPositionals(args, 1, this.usage)
      const id = positional(args, 0, 'wait', this.usage)
      const text = stringOption(args, 'comment')
      if (commentRequired && !text?.trim()) throw usageError('Say why with --comment.', this.usage)
      const digest = stringOption(args, 'digest')
      const edits = editable ? readEdits(ctx, args, this.usage) : undefined
      const data = (await ctx.api().post(`/waits/${encodeURIComponent(id)}/${decision}`, {
        ...(text === undefined ? {} : { comment: text }),
        ...(digest === undefined ? {} : { digest }),
        ...(edits === undefined ? {} : { edits }),
      })) as { vote: VoteView }
      const { vote } = data
      const next = vote.outcome
        ? [`greenlight runs show ${vote.run_id}`, `greenlight runs events ${vote.run_id}`]
        : [`greenlight waits show ${vote.wait_id}`, `greenlight runs show ${vote.run_id}`]
      const note = vote.duplicate
        ? 'You had already voted; nothing changed.'
        : vote.edited
          ? `Your edits (${vote.edited.join(', ')}) are the new revision: approvals given before them no longer count.`
          : undefined
      return { data, next, ...(note ? { meta: { note } } : {}) }
    },
  }
}

export const approve = voteCommand('approve', 'Approve (counts towards the quorum).', false)
export const reject = voteCommand('reject', 'Reject an approval, with the reason.', true)
export const requestChanges = voteCommand('request-changes', 'Request changes, with what to change.', true)
