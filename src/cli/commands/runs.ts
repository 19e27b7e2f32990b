// `greenlight runs …`: start and retry (optionally waiting until the run ends or parks), wait, list, show, events,
// cancel.
import { formatDuration, parseDuration } from '../../core/flow/duration.ts'
import { isRunStatus, isTerminal } from '../../core/run-status.ts'
import { AppError } from '../../errors.ts'
import type { ApiClient } from '../client.ts'
import {
  type Command,
  expectPositionals,
  listOption,
  type ParsedArgs,
  positional,
  stringOption,
  usageError,
} from '../command.ts'

export interface RunView {
  id: string
  flow: string
  status: string
  waiting_on: { step: string; kind: string; wait_id?: string } | null
  error: { code: string; message: string; step?: string } | null
  /** Where a retry would start and whether the server allows it; absent from list views. */
  retry?: { from: string; allowed: boolean; suggested_from: string | null } | null
}

/** How long one `--wait` request is held open (under the server cap of 300 s and fetch's 300 s header timeout). */
const SERVER_WAIT_MS = 240_000
const POLL_MS = 500
const FAILED = new Set(['failed', 'timed_out', 'canceled'])

/**
 * The retry the server would accept: plain when it may start where the run stopped, else `--from` the step it
 * suggests (a retry never gets past an approval that was not granted). Null when it would refuse every retry, or
 * did not say.
 */
export function retryCommand(run: RunView): string | null {
  const plan = run.retry
  if (!plan) return null
  if (plan.allowed) return `greenlight runs retry ${run.id}`
  return plan.suggested_from === null ? null : `greenlight runs retry ${run.id} --from ${plan.suggested_from}`
}

/** What an agent can do next with a run, given where it stands. */
export function nextForRun(run: RunView): string[] {
  const show = `greenlight runs show ${run.id}`
  const on = run.status === 'waiting' ? run.waiting_on : null
  if (on?.wait_id && on.kind === 'approval') {
    return [
      `greenlight waits approve ${on.wait_id} --comment "…"`,
      `greenlight waits request-changes ${on.wait_id} --comment "…"`,
      `greenlight waits reject ${on.wait_id} --comment "…"`,
      show,
    ]
  }
  if (on?.wait_id && on.kind !== 'sleep') return [`greenlight waits complete ${on.wait_id} --payload '{…}'`, show]
  if (run.status === 'succeeded') return [`greenlight runs events ${run.id}`, `greenlight audit verify ${run.id}`]
  if (FAILED.has(run.status)) return [`greenlight runs events ${run.id}`, retryCommand(run) ?? show]
  return [show, `greenlight runs events ${run.id}`]
}

function parseInputs(args: ParsedArgs, usage: string): Record<string, unknown> {
  const inputs: Record<string, unknown> = {}
  const json = stringOption(args, 'input-json')
  if (json !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(json)
    } catch (error) {
      throw usageError(`--input-json is not valid JSON: ${(error as Error).message}`, usage)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw usageError('--input-json must be a JSON object.', usage)
    Object.assign(inputs, parsed)
  }
  for (const pair of args.positionals.slice(1)) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw usageError(`'${pair}' is not key=value.`, usage)
    // Values stay strings: the server coerces them to the types the flow declares.
    inputs[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return inputs
}

/** Reads the run until it ends or parks, or the deadline passes. */
async function settle(api: ApiClient, id: string, deadline: number): Promise<{ run: RunView; timedOut: boolean }> {
  for (;;) {
    // Servers that support it hold the request until the run parks; others answer at once and the loop polls.
    const hold = Math.max(0, Math.min(deadline - Date.now(), 60_000))
    const { run } = (await api.get(`/runs/${encodeURIComponent(id)}?settle=parked&timeout_ms=${hold}&view=brief`)) as {
      run: RunView
    }
    if (isTerminal(run.status) || run.status === 'waiting') return { run, timedOut: false }
    const left = deadline - Date.now()
    if (left <= 0) return { run, timedOut: true }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, left)))
  }
}

export function runFailed(run: RunView): AppError {
  const why = run.error ? `: ${run.error.message}` : '.'
  const retry = retryCommand(run)
  return new AppError('run_failed', `Run ${run.id} ended ${run.status}${why}`, {
    status: 409,
    hint: `See 'greenlight runs events ${run.id}'${retry ? `; resume it with '${retry}'` : ''}.`,
    details: { run },
  })
}

export const start: Command = {
  name: 'runs start',
  usage:
    "greenlight runs start <slug> [key=value …] [--input-json '{…}'] [--draft] [--wait] [--timeout 60s]   (--timeout only with --wait)",
  summary: 'Start a run; --wait returns when it ends or parks.',
  options: {
    'input-json': { type: 'string' },
    draft: { type: 'boolean' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
  },
  async run(ctx, args) {
    const slug = positional(args, 0, 'slug', this.usage)
    const inputs = parseInputs(args, this.usage)
    const wait = args.values.wait === true
    const rawTimeout = stringOption(args, 'timeout')
    if (rawTimeout !== undefined && !wait) throw usageError('--timeout needs --wait.', this.usage)
    const timeoutMs = rawTimeout === undefined ? 60_000 : parseDuration(rawTimeout)
    if (timeoutMs === undefined) throw usageError(`'${rawTimeout}' is not a duration (e.g. 90s, 5m).`, this.usage)
    const deadline = Date.now() + timeoutMs
    const api = ctx.api()
    const data = (await api.post('/runs', {
      flow: slug,
      inputs,
      draft: args.values.draft === true,
      wait,
      timeout_ms: Math.min(timeoutMs, SERVER_WAIT_MS),
    })) as { run: RunView; timed_out?: boolean }
    let run = data.run
    let timedOut = data.timed_out === true
    if (wait && timedOut && Date.now() < deadline) ({ run, timedOut } = await settle(api, run.id, deadline))
    if (wait && FAILED.has(run.status)) throw runFailed(run)
    return { data: { run }, next: nextForRun(run), ...(wait ? { meta: { timed_out: timedOut } } : {}) }
  },
}

export const list: Command = {
  name: 'runs list',
  usage: 'greenlight runs list [--flow <slug>] [--status waiting,failed,…] [--limit 20] [--before <run>]',
  summary: 'List recent runs, newest first.',
  options: {
    flow: { type: 'string' },
    status: { type: 'string', multiple: true },
    limit: { type: 'string' },
    before: { type: 'string' },
  },
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const status = listOption(args, 'status')
    const bad = status.find((s) => !isRunStatus(s))
    if (bad !== undefined) throw usageError(`'${bad}' is not a run status.`, this.usage)
    const limit = stringOption(args, 'limit')
    if (limit !== undefined && (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 200))
      throw usageError(`--limit must be a whole number from 1 to 200, not '${limit}'.`, this.usage)
    const query = new URLSearchParams()
    const flow = stringOption(args, 'flow')
    if (flow) query.set('flow', flow)
    if (status.length > 0) query.set('status', status.join(','))
    if (limit) query.set('limit', limit)
    const before = stringOption(args, 'before')
    if (before) query.set('before', before)
    const data = (await ctx.api().get(`/runs${query.size > 0 ? `?${query}` : ''}`)) as { runs: RunView[] }
    const next = data.runs.slice(0, 3).map((r) => `greenlight runs show ${r.id}`)
    const last = data.runs.at(-1)
    if (last && data.runs.length === Number(limit ?? 20)) {
      const page = [...(flow ? [`--flow ${flow}`] : []), ...(status.length > 0 ? [`--status ${status.join(',')}`] : [])]
      next.push(
        ['greenlight runs list', ...page, ...(limit ? [`--limit ${limit}`] : []), `--before ${last.id}`].join(' '),
      )
    }
    return { data, next: next.length > 0 ? next : ['greenlight flows list', 'greenlight runs start <slug>'] }
  },
}

export const show: Command = {
  name: 'runs show',
  usage: 'greenlight runs show <run>',
  summary: 'Show a run, its steps and what it waits on.',
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const id = positional(args, 0, 'run', this.usage)
    const data = (await ctx.api().get(`/runs/${encodeURIComponent(id)}`)) as { run: RunView }
    return { data, next: nextForRun(data.run) }
  },
}

export const events: Command = {
  name: 'runs events',
  usage: 'greenlight runs events <run>',
  summary: 'The run history: every event, hash-chained.',
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const id = positional(args, 0, 'run', this.usage)
    const data = await ctx.api().get(`/runs/${encodeURIComponent(id)}/events`)
    return { data, next: [`greenlight audit verify ${id}`, `greenlight runs show ${id}`] }
  },
}

export const cancel: Command = {
  name: 'runs cancel',
  usage: 'greenlight runs cancel <run>',
  summary: 'Cancel a queued, running or waiting run.',
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const id = positional(args, 0, 'run', this.usage)
    const data = (await ctx.api().post(`/runs/${encodeURIComponent(id)}/cancel`, {})) as { run: RunView }
    const retry = retryCommand(data.run)
    return { data, next: [`greenlight runs show ${id}`, ...(retry ? [retry] : [])] }
  },
}

export const retry: Command = {
  name: 'runs retry',
  usage: 'greenlight runs retry <run> [--from <step>] [--wait] [--timeout 60s]   (--timeout only with --wait)',
  summary: 'Resume a failed run from the failed (or named) step, never past an approval that was not granted.',
  options: { from: { type: 'string' }, wait: { type: 'boolean' }, timeout: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const id = positional(args, 0, 'run', this.usage)
    const from = stringOption(args, 'from')
    if (from === '') throw usageError('--from needs a step id.', this.usage)
    const wait = args.values.wait === true
    const timeoutMs = waitTimeout(args, this.usage, { needsWait: true, fallbackMs: 60_000 })
    const deadline = Date.now() + timeoutMs
    const api = ctx.api()
    const data = (await api.post(`/runs/${encodeURIComponent(id)}/retry`, from ? { from } : {})) as {
      run: RunView
    }
    if (!wait) return { data, next: [`greenlight runs show ${id}`, `greenlight runs events ${id}`] }
    // Like `runs start --wait`: the retried run ends or parks, or the time runs out (ok, with meta.timed_out).
    const { run, timedOut } = await settle(api, data.run.id, deadline)
    if (FAILED.has(run.status)) throw runFailed(run)
    return { data: { run }, next: nextForRun(run), meta: { timed_out: timedOut } }
  },
}

/** --timeout as milliseconds: `fallbackMs` when absent; `needsWait` commands take it only with --wait. */
function waitTimeout(args: ParsedArgs, usage: string, rule: { needsWait: boolean; fallbackMs: number }): number {
  const raw = stringOption(args, 'timeout')
  if (raw !== undefined && rule.needsWait && args.values.wait !== true)
    throw usageError('--timeout needs --wait.', usage)
  const ms = raw === undefined ? rule.fallbackMs : parseDuration(raw)
  if (ms === undefined) throw usageError(`'${raw}' is not a duration (e.g. 90s, 5m).`, usage)
  return ms
}

/** How long one long-poll of `runs wait` may be held: the server's cap on `GET /runs/:id?settle=`. */
const SERVER_SETTLE_MS = 60_000

export const wait: Command = {
  name: 'runs wait',
  usage: 'greenlight runs wait <run> [--until ended|parked] [--timeout 10m]',
  summary: 'Wait until a run ends (or parks, with --until parked).',
  options: { until: { type: 'string' }, timeout: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const id = positional(args, 0, 'run', this.usage)
    const until = stringOption(args, 'until') ?? 'ended'
    if (until !== 'ended' && until !== 'parked')
      throw usageError(`--until is 'ended' or 'parked', not '${until}'.`, this.usage)
    const timeoutMs = waitTimeout(args, this.usage, { needsWait: false, fallbackMs: 600_000 })
    const deadline = Date.now() + timeoutMs
    const api = ctx.api()
    // The server holds each request until the run settles or 60 s pass; longer waits ask again.
    for (;;) {
      const hold = Math.max(0, Math.min(deadline - Date.now(), SERVER_SETTLE_MS))
      const path = `/runs/${encodeURIComponent(id)}?settle=${until}&timeout_ms=${hold}`
      const data = (await api.get(path)) as { run: RunView }
      const { run } = data
      const settled = isTerminal(run.status) || (until === 'parked' && run.status === 'waiting')
      if (settled && FAILED.has(run.status)) throw runFailed(run)
      if (settled) return { data, next: nextForRun(run) }
      if (Date.now() >= deadline) throw waitTimedOut(run, until, timeoutMs)
      // A server that answers at once (an older one) is polled instead of held.
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))))
    }
  },
}

function waitTimedOut(run: RunView, until: string, timeoutMs: number): AppError {
  const what = until === 'parked' ? 'end or park' : 'end'
  return new AppError(
    'wait_timeout',
    `Run ${run.id} did not ${what} within ${formatDuration(timeoutMs)}; it is ${run.status}.`,
    {
      status: 408,
      hint: `Keep waiting with 'greenlight runs wait ${run.id}${until === 'parked' ? ' --until parked' : ''} --timeout 30m', or see 'greenlight runs show ${run.id}'.`,
      details: { run, until, timeout_ms: timeoutMs },
    },
  )
}
