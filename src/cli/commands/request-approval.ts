// `greenlight request-approval`: ask people in Slack to approve an action, for shell-based agents and hooks. With
// --wait it exits 0 only when approved, so `greenlight request-approval … --wait && dangerous-command` is a gate.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { RequestDecision } from '../../core/approval-request.ts'
import { AppError } from '../../errors.ts'
import { type Command, expectPositionals, listOption, type ParsedArgs, stringOption, usageError } from '../command.ts'

interface RequestView {
  run: { id: string; status: string; error: { message: string } | null }
  decision: RequestDecision | null
  comment: string | null
  votes: { user: string; decision: string; comment: string | null }[]
  tally: { approvals: number; required: number } | null
  wait_id: string | null
}

/** How long one request is held open waiting for the decision (the server's cap). */
const HOLD_MS = 60_000

function readText(cwd: string, file: string, flag: string): string {
  try {
    return readFileSync(file === '-' ? 0 : resolve(cwd, file), 'utf8')
  } catch (error) {
    throw new AppError(
      'file_unreadable',
      `Cannot read ${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
      { status: 400, hint: "Check the path ('-' reads stdin)." },
    )
  }
}

function requestBody(ctx: { cwd: string }, args: ParsedArgs, usage: string): Record<string, unknown> {
  const title = stringOption(args, 'title')
  if (!title?.trim()) throw usageError('Missing --title.', usage)
  const bodyFile = stringOption(args, 'body-file')
  const body = stringOption(args, 'body')
  if (body !== undefined && bodyFile !== undefined) throw usageError('Give --body or --body-file, not both.', usage)
  const diffFile = stringOption(args, 'diff-file')
  const payloadText = stringOption(args, 'payload')
  let payload: unknown
  if (payloadText !== undefined) {
    try {
      payload = JSON.parse(payloadText)
    } catch (error) {
      throw usageError(`--payload is not valid JSON: ${(error as Error).message}`, usage)
    }
  }
  const users = listOption(args, 'approver')
  const usergroups = listOption(args, 'usergroup')
  const required = stringOption(args, 'required')
  if (required !== undefined && !/^\d{1,2}$/.test(required))
    throw usageError(`--required must be a whole number, not '${required}'.`, usage)
  const fields: Record<string, unknown> = {
    title,
    body: bodyFile === undefined ? body : readText(ctx.cwd, bodyFile, '--body-file'),
    diff: diffFile === undefined ? undefined : readText(ctx.cwd, diffFile, '--diff-file'),
    payload,
    approvers:
      users.length + usergroups.length === 0
        ? undefined
        : { ...(users.length ? { users } : {}), ...(usergroups.length ? { usergroups } : {}) },
    required: required === undefined ? undefined : Number(required),
    timeout: stringOption(args, 'timeout'),
    remind_every: stringOption(args, 'remind-every'),
    channel: stringOption(args, 'channel'),
    idempotency_key: stringOption(args, 'idempotency-key'),
  }
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))
}

function notApproved(view: RequestView): AppError {
  const decision = view.decision ?? 'failed'
  const who = view.votes.filter((v) => v.decision !== 'approve').map((v) => v.user)
  const by = who.length > 0 ? ` by ${who.join(', ')}` : ''
  const message =
    decision === 'failed'
      ? `The request could not be asked: ${view.run.error?.message ?? `run ${view.run.id} ended ${view.run.status}`}.`
      : `The request was ${decision.replace('_', ' ')}${by}${view.comment ? `: ${view.comment}` : '.'}`
  return new AppError(`request_${decision}`, message, {
    status: 409,
    hint:
      decision === 'timed_out'
        ? 'Nobody decided in time; ask again (a new --idempotency-key) or raise --timeout.'
        : decision === 'failed'
          ? `See 'greenlight runs events ${view.run.id}'.`
          : 'Do not go ahead; change what you asked for and ask again.',
    details: { request: view },
  })
}

export const requestApproval: Command = {
  name: 'request-approval',
  usage:
    "greenlight request-approval --title T [--body B | --body-file F] [--diff-file F] [--payload '{…}'] [--approver U…] [--usergroup S…] [--required N] [--timeout 1h] [--remind-every 15m] [--channel C…] [--idempotency-key K] [--wait]",
  summary: 'Ask people in Slack to approve an action; --wait exits 0 only when approved.',
  options: {
    title: { type: 'string' },
    body: { type: 'string' },
    'body-file': { type: 'string' },
    'diff-file': { type: 'string' },
    payload: { type: 'string' },
    approver: { type: 'string', multiple: true },
    usergroup: { type: 'string', multiple: true },
    required: { type: 'string' },
    timeout: { type: 'string' },
    'remind-every': { type: 'string' },
    channel: { type: 'string' },
    'idempotency-key': { type: 'string' },
    wait: { type: 'boolean' },
  },
  help: {
    exit_codes: { 0: 'approved (or, without --wait, asked)', 1: 'rejected, changes requested, timed out or canceled' },
    flags: {
      '--idempotency-key K':
        'Asking again with the same key (yours) returns the same request, still waiting or decided, instead of asking twice.',
      '--wait': 'Wait for the decision (as long as --timeout, default 1h).',
    },
  },
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const body = requestBody(ctx, args, this.usage)
    const api = ctx.api()
    const asked = (await api.post('/approval-requests', body)) as { request: RequestView; created: boolean }
    let view = asked.request
    const show = `greenlight runs show ${view.run.id}`
    if (args.values.wait !== true) return { data: { request: view, created: asked.created }, next: [show] }
    while (view.decision === null && !['succeeded', 'failed', 'canceled', 'timed_out'].includes(view.run.status)) {
      const path = `/approval-requests/${encodeURIComponent(view.run.id)}?timeout_ms=${HOLD_MS}`
      view = ((await api.get(path)) as { request: RequestView }).request
    }
    if (view.decision !== 'approved') throw notApproved(view)
    return { data: { request: view, created: asked.created }, next: [`greenlight runs events ${view.run.id}`] }
  },
}
