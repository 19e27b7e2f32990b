// The run card: the thread's parent message, updated in place (flow, initiator, status, step checklist, elapsed time).
import type { RunStatus, WaitKind } from '../../core/run-status.ts'
import { type Block, chunkLines, context, LIMITS, type Message, section } from './blocks.ts'
import {
  code,
  escapeMrkdwn,
  flowRef,
  formatDuration,
  mention,
  slackDate,
  stripControl,
  truncate,
  truncateMrkdwn,
} from './mrkdwn.ts'

export type StepState = 'done' | 'skipped' | 'failed' | 'current' | 'waiting' | 'pending'

export interface CardStep {
  id: string
  name?: string
  state: StepState
  /** Shown after the step, e.g. `1 of 2 approvals`; escaped mrkdwn. */
  detail?: string
}

export interface CardWaitingOn {
  step: string
  kind: WaitKind
  until?: number
}

/** The fields of a RunRecord the card shows; a RunRecord fits as is. */
export interface CardRun {
  id: string
  flowSlug: string
  version: number | null
  status: RunStatus
  initiator: string
  createdAt: number
  startedAt: number | null
  endedAt: number | null
  error: { code: string; message: string; step?: string } | null
  waitingOn: CardWaitingOn | null
  cursor?: { step: string | null; visit?: number } | null
}

export interface RunCardInput {
  run: CardRun
  flowName?: string
  steps: readonly CardStep[]
  /** Extra text for the waiting line, e.g. `1 of 2 approvals`; escaped mrkdwn. */
  waitingDetail?: string
}

export const STATUS_EMOJI: Record<RunStatus, string> = {
  queued: '🕓',
  running: '🔄',
  waiting: '⏳',
  succeeded: '✅',
  failed: '❌',
  canceled: '🚫',
  timed_out: '⌛',
}

export const STATUS_LABEL: Record<RunStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  waiting: 'Waiting',
  succeeded: 'Succeeded',
  failed: 'Failed',
  canceled: 'Canceled',
  timed_out: 'Timed out',
}

const STEP_EMOJI: Record<StepState, string> = {
  done: '✅',
  skipped: '⏭',
  failed: '❌',
  current: '⏳',
  waiting: '⏳',
  pending: '▫️',
}

const WAIT_TEXT: Record<WaitKind, string> = {
  approval: 'waiting for approval',
  wait: 'waiting for a callback',
  input: 'waiting for input',
  job: 'waiting for a worker',
  sleep: 'sleeping',
  flow: 'waiting for a child flow',
}

/** Lists up to this many steps in full; longer flows collapse the middle. */
const FULL_LIST_MAX = 30
const EDGE = 3
const AROUND = 2

/** What a waiting step waits on: `waiting for approval (1 of 2 approvals), times out <date>`. */
export function waitingText(waiting: CardWaitingOn, detail?: string): string {
  let text = WAIT_TEXT[waiting.kind]
  if (detail) text += ` (${detail})`
  if (waiting.until !== undefined)
    text += `${waiting.kind === 'sleep' ? ' until' : ', times out'} ${slackDate(waiting.until)}`
  return text
}

/** Derives the checklist from the flow's steps, the step runs so far and where the run stands. */
export function stepChecklist(
  flowSteps: readonly { id: string; name?: string }[],
  stepRuns: readonly { stepId: string; status: 'succeeded' | 'failed' | 'skipped' }[],
  run: Pick<CardRun, 'status' | 'cursor' | 'waitingOn' | 'error'>,
): CardStep[] {
  const latest = new Map(stepRuns.map((s) => [s.stepId, s.status]))
  const active = run.status === 'running' || run.status === 'waiting'
  const at = run.cursor?.step ?? null
  return flowSteps.map(({ id, name }) => {
    const step: CardStep = name === undefined ? { id, state: 'pending' } : { id, name, state: 'pending' }
    const last = latest.get(id)
    if (active && at === id) {
      step.state = run.status === 'waiting' && run.waitingOn?.step === id ? 'waiting' : 'current'
      if ((run.cursor?.visit ?? 1) > 1) step.detail = `visit ${run.cursor?.visit}`
    } else if ((run.status === 'failed' || run.status === 'timed_out') && (run.error?.step ?? at) === id) {
      step.state = 'failed'
    } else if (last !== undefined) {
      step.state = last === 'succeeded' ? 'done' : last
    }
    return step
  })
}

function stepLine(step: CardStep, input: RunCardInput): string {
  const name = step.name ? ` ${escapeMrkdwn(truncate(stripControl(step.name), 60))}` : ''
  const waiting = input.run.waitingOn
  let detail = step.detail ?? ''
  if (step.state === 'waiting' && waiting?.step === step.id) {
    detail = waitingText(waiting, input.waitingDetail) + (detail ? `, ${detail}` : '')
  } else if (step.state === 'current') detail = detail ? `running, ${detail}` : 'running'
  return `${STEP_EMOJI[step.state]} ${code(truncate(step.id, 70))}${name}${detail ? ` — ${truncateMrkdwn(detail, 300)}` : ''}`
}

function gapLine(steps: readonly CardStep[]): string {
  const counts = new Map<StepState, number>()
  for (const s of steps) counts.set(s.state, (counts.get(s.state) ?? 0) + 1)
  const parts = [...counts].map(([state, n]) => `${n} ${state}`)
  return `… ${steps.length} more step${steps.length === 1 ? '' : 's'} (${parts.join(', ')})`
}

/** The checklist lines; past FULL_LIST_MAX steps only the ends and the steps around notable ones are listed. */
export function checklistLines(input: RunCardInput): string[] {
  const { steps } = input
  if (steps.length <= FULL_LIST_MAX) return steps.map((s) => stepLine(s, input))
  const keep = new Set<number>()
  for (let i = 0; i < EDGE; i++) keep.add(i).add(steps.length - 1 - i)
  // The step the run stands on first, then failures (a flow with on_error: continue may have many).
  const where = steps.flatMap((s, i) => (s.state === 'current' || s.state === 'waiting' ? [i] : []))
  const failed = steps.flatMap((s, i) => (s.state === 'failed' ? [i] : []))
  const notable = [...where, ...failed].slice(0, 5)
  for (const i of notable) for (let j = i - AROUND; j <= i + AROUND; j++) if (j >= 0 && j < steps.length) keep.add(j)
  const lines: string[] = []
  let gap: CardStep[] = []
  steps.forEach((step, i) => {
    if (!keep.has(i)) {
      gap.push(step)
      return
    }
    if (gap.length > 0) lines.push(gapLine(gap))
    gap = []
    lines.push(stepLine(step, input))
  })
  if (gap.length > 0) lines.push(gapLine(gap))
  return lines
}

/**
 * How long the run has taken. A run still going shows its start as Slack's date token, which each reader's client
 * renders (`since today 12:04`), so the card stays true between updates; an elapsed time computed when the card was
 * posted would not. A finished run's duration no longer changes.
 */
function elapsed(run: CardRun): string {
  if (run.status === 'queued') return `queued since ${slackDate(run.createdAt)}`
  const start = run.startedAt ?? run.createdAt
  if (run.endedAt !== null) return `took ${formatDuration(run.endedAt - start)}`
  return `since ${slackDate(start)}`
}

export function runCard(input: RunCardInput): Message {
  const { run } = input
  const ref = flowRef(run.flowSlug, run.version)
  const title = input.flowName
    ? `*${escapeMrkdwn(truncate(stripControl(input.flowName), 150))}* · ${code(ref)}`
    : `*${code(ref)}*`
  let status = `${STATUS_EMOJI[run.status]} *${STATUS_LABEL[run.status]}*`
  if (run.status === 'running' && run.cursor?.step) status += ` ${code(run.cursor.step)}`
  if (run.status === 'waiting' && run.waitingOn) {
    status += ` on ${code(run.waitingOn.step)}: ${waitingText(run.waitingOn, input.waitingDetail)}`
  }
  const blocks: Block[] = [
    section(title),
    context(
      `Run ${code(truncate(run.id, 100))} · started by ${mention(truncate(run.initiator, 200))} · ${elapsed(run)}`,
    ),
    section(truncate(status, LIMITS.sectionText)),
  ]
  const lines = checklistLines(input)
  for (const chunk of chunkLines(lines.length > 0 ? lines : ['_(no steps)_'])) blocks.push(section(chunk))
  if (run.error && (run.status === 'failed' || run.status === 'timed_out')) {
    const where = run.error.step ? ` in ${code(run.error.step)}` : ''
    const message = truncateMrkdwn(escapeMrkdwn(stripControl(run.error.message)), 1500)
    blocks.push(section(`❌ ${code(truncate(run.error.code, 100))}${where}: ${message}`))
  }
  const text = `${ref} run ${run.id}: ${STATUS_LABEL[run.status].toLowerCase()}`
  return { text: truncateMrkdwn(escapeMrkdwn(stripControl(text)), LIMITS.fallbackText), blocks }
}
