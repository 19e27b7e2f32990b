// `greenlight waits …`: what runs wait on (approvals, callbacks, inputs, jobs), completing them and voting.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { AppError } from '../../errors.ts'
import { type Command, expectPositionals, type ParsedArgs, positional, stringOption, usageError } from '../command.ts'

interface WaitView {
  id: string
  run_id: string
  step: string
  kind: string
  status: string
}

interface VoteView {
  recorded: boolean
  duplicate: boolean
  run_id: string
  wait_id: string
  tally: { approvals: number; required: number }
  outcome: string | null
}

const KINDS = ['approval', 'wait', 'input', 'job']

function nextForWait(wait: WaitView): string[] {
  if (wait.status !== 'open') return [`greenlight runs show ${wait.run_id}`]
  if (wait.kind === 'approval') {
    return [
      `greenlight waits approve ${wait.id} --comment "…"`,
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

function voteCommand(
  decision: 'approve' | 'reject' | 'request-changes',
  summary: string,
  commentRequired: boolean,
): Command {
  const comment = commentRequired ? '--comment "<why>"' : '[--comment "…"]'
  return {
    name: `waits ${decision}`,
    usage: `greenlight waits ${decision} <wait> ${comment} [--digest <sha256>]`,
    summary,
    options: { comment: { type: 'string' }, digest: { type: 'string' } },
    async run(ctx, args) {
      expectPositionals(args, 1, this.usage)
      const id = positional(args, 0, 'wait', this.usage)
      const text = stringOption(args, 'comment')
      if (commentRequired && !text?.trim()) throw usageError('Say why with --comment.', this.usage)
      const digest = stringOption(args, 'digest')
      const data = (await ctx.api().post(`/waits/${encodeURIComponent(id)}/${decision}`, {
        ...(text === undefined ? {} : { comment: text }),
        ...(digest === undefined ? {} : { digest }),
      })) as { vote: VoteView }
      const { vote } = data
      const next = vote.outcome
        ? [`greenlight runs show ${vote.run_id}`, `greenlight runs events ${vote.run_id}`]
        : [`greenlight waits show ${vote.wait_id}`, `greenlight runs show ${vote.run_id}`]
      return { data, next, ...(vote.duplicate ? { meta: { note: 'You had already voted; nothing changed.' } } : {}) }
    },
  }
}

export const approve = voteCommand('approve', 'Approve (counts towards the quorum).', false)
export const reject = voteCommand('reject', 'Reject an approval, with the reason.', true)
export const requestChanges = voteCommand('request-changes', 'Request changes, with what to change.', true)
