// Small messages posted in a run's thread: failures, waits and their progress, reminders, inputs, notify, the result.
import type { RunStatus, WaitKind } from '../../core/run-status.ts'
import { ACTION, inputOpenValue } from './actions.ts'
import { tallyText } from './approval.ts'
import { type Block, button, chunkLines, context, jsonLength, LIMITS, type Message, section } from './blocks.ts'
import {
  code,
  escapeMrkdwn,
  flowRef,
  formatDuration,
  mention,
  mentionList,
  slackDate,
  stripControl,
  truncateMrkdwn,
} from './mrkdwn.ts'
import { STATUS_EMOJI, waitingText } from './run-card.ts'

/** Untrusted text (agents, errors) as escaped mrkdwn of at most `max` characters. */
const untrusted = (text: string, max: number): string => truncateMrkdwn(escapeMrkdwn(stripControl(text)), max)
/** Flow-authored mrkdwn: kept as written, bounded. */
const authored = (text: string, max: number): string => truncateMrkdwn(stripControl(text).trim(), max)

/** A message whose fallback text is its single line. */
function line(text: string, extra: Block[] = []): Message {
  return { text: truncateMrkdwn(text, LIMITS.fallbackText), blocks: [section(text), ...extra] }
}

export interface StepFailedInput {
  stepId: string
  error: { code: string; message: string }
  attempt?: number
  /** Set when the step will be retried. */
  retryAt?: number | null
}

export function stepFailedMessage(input: StepFailedInput): Message {
  const attempt = input.attempt && input.attempt > 1 ? ` (attempt ${input.attempt})` : ''
  const text = `❌ Step ${code(input.stepId)} failed${attempt}: ${code(input.error.code)} ${untrusted(input.error.message, 2000)}`
  const retry = input.retryAt == null ? [] : [context(`Retrying ${slackDate(input.retryAt)}`)]
  return line(text, retry)
}

export interface WaitOpenedInput {
  stepId: string
  kind: WaitKind
  /** The step's `notify` text (flow-authored mrkdwn). */
  notify?: string | null
  deadlineAt?: number | null
}

export function waitOpenedMessage(input: WaitOpenedInput): Message {
  const waiting = {
    step: input.stepId,
    kind: input.kind,
    ...(input.deadlineAt == null ? {} : { until: input.deadlineAt }),
  }
  const head = `⏳ ${code(input.stepId)} is ${waitingText(waiting)}`
  const notify = input.notify ? authored(input.notify, LIMITS.sectionText) : ''
  return notify === ''
    ? line(head)
    : { text: truncateMrkdwn(head, LIMITS.fallbackText), blocks: [section(head), section(notify)] }
}

export interface WaitProgressInput {
  stepId: string
  /** What the remote agent reported in its heartbeat (untrusted). */
  progress?: string | null
  at: number
  extendedUntil?: number | null
}

/** One heartbeat line: `↻ agent_done: tests passing (12/40) · <date>`. */
export function waitProgressMessage(input: WaitProgressInput): Message {
  const parts = [`↻ ${code(input.stepId)}`]
  if (input.progress?.trim()) parts[0] += `: ${untrusted(input.progress.trim(), 1500)}`
  if (input.extendedUntil != null) parts.push(`deadline now ${slackDate(input.extendedUntil)}`)
  parts.push(slackDate(input.at))
  const text = parts.join(' · ')
  return { text: truncateMrkdwn(text, LIMITS.fallbackText), blocks: [context(text)] }
}

export interface ReminderInput {
  stepId: string
  /** Eligible voters who have not voted yet (empty when they are only known as a group). */
  pending: readonly string[]
  approvals: number
  required: number
}

/** `<@U1> <@U2>: 1 of 2 approvals still needed`. */
export function reminderMessage(input: ReminderInput): Message {
  const who = input.pending.length > 0 ? `${mentionList(input.pending, 30, ' ')}: ` : 'Reminder: '
  return line(`${who}${tallyText(input.approvals, input.required)} still needed`, [
    context(`🔔 Approval ${code(input.stepId)} is still open.`),
  ])
}

export interface EscalationInput {
  stepId: string
  to: readonly string[]
  approvals: number
  required: number
  /** How long the approval had been open. */
  afterMs?: number
  /** As the flow wrote it (`4h`); preferred over afterMs. */
  after?: string
  /** The rung of an escalation ladder (shown when there are several). */
  level?: number
  levels?: number
}

export function escalationMessage(input: EscalationInput): Message {
  const after =
    input.after !== undefined
      ? ` after ${input.after}`
      : input.afterMs === undefined
        ? ''
        : ` after ${formatDuration(input.afterMs)}`
  const rung =
    input.level !== undefined && input.levels !== undefined ? ` (level ${input.level} of ${input.levels})` : ''
  const to = input.to.length > 0 ? `${mentionList(input.to, 30)}: ` : ''
  return line(
    `🚨 ${to}approval ${code(input.stepId)} is escalated to you${after}${rung} (${tallyText(input.approvals, input.required)}). You can now vote on it above.`,
  )
}

export interface InputRequestInput {
  waitId: string
  stepId: string
  stepName?: string
  /** The step's `message` (flow-authored mrkdwn). */
  message?: string | null
  assignees?: readonly string[]
  deadlineAt?: number | null
}

/** Asks for input with a button that opens the form (`gl_input_open`, value `{"wait":"…"}`). */
export function inputRequestMessage(input: InputRequestInput): Message {
  const who = input.assignees && input.assignees.length > 0 ? `${mentionList(input.assignees, 30)}: ` : ''
  const head = `📝 ${who}${code(input.stepId)} needs input`
  const deadline = input.deadlineAt == null ? '' : ` by ${slackDate(input.deadlineAt)}`
  const body = input.message ? `\n${authored(input.message, 2000)}` : ''
  const text = `${head}${deadline}.${body}`
  const open = button(ACTION.inputOpen, 'Open form', inputOpenValue(input.waitId), 'primary')
  return {
    text: truncateMrkdwn(`${head}${deadline}.`, LIMITS.fallbackText),
    blocks: [section(text), { type: 'actions', elements: [open] }],
  }
}

export interface NotifyInput {
  text?: string | null
  /** Block Kit blocks from the flow, passed through as given (Slack checks their content). */
  blocks?: unknown
}

/** A notify step's message; `warnings` says what had to be dropped to make it postable. */
export function notifyMessage(input: NotifyInput): Message & { warnings: string[] } {
  const warnings: string[] = []
  const text = input.text ? authored(input.text, 4000) : ''
  let blocks: Block[] = []
  if (input.blocks !== undefined && input.blocks !== null) {
    if (!Array.isArray(input.blocks)) warnings.push('blocks is not an array; it was ignored')
    else {
      const valid = input.blocks.filter(
        (b): b is Block => typeof b === 'object' && b !== null && typeof (b as { type?: unknown }).type === 'string',
      )
      if (valid.length < input.blocks.length) {
        warnings.push(`${input.blocks.length - valid.length} blocks without a type were ignored`)
      }
      blocks = valid.slice(0, LIMITS.messageBlocks)
      if (valid.length > blocks.length)
        warnings.push(`only the first ${LIMITS.messageBlocks} of ${valid.length} blocks are shown`)
      const before = blocks.length
      while (blocks.length > 1 && jsonLength(blocks) > LIMITS.messageJson) blocks.pop()
      if (blocks.length < before) warnings.push(`blocks were cut to ${blocks.length} to stay under Slack's size limit`)
    }
  }
  if (blocks.length === 0) blocks = chunkLines((text || '_(empty notification)_').split('\n')).map(section)
  return { text: text || 'Notification', blocks, warnings }
}

export interface RunFinishedInput {
  runId: string
  flowSlug: string
  version: number | null
  status: Extract<RunStatus, 'succeeded' | 'failed' | 'canceled' | 'timed_out'>
  startedAt: number
  endedAt: number
  error?: { code: string; message: string; step?: string } | null
  canceledBy?: string | null
}

export function runFinishedMessage(input: RunFinishedInput): Message {
  const took = formatDuration(input.endedAt - input.startedAt)
  const run = `Run ${code(input.runId)} of ${code(flowRef(input.flowSlug, input.version))}`
  let text: string
  if (input.status === 'succeeded') text = `${run} succeeded in ${took}`
  else if (input.status === 'canceled') {
    text = `${run} was canceled after ${took}${input.canceledBy ? ` by ${mention(input.canceledBy)}` : ''}`
  } else text = `${run} ${input.status === 'failed' ? 'failed' : 'timed out'} after ${took}`
  const error = input.error
  const detail =
    error && input.status !== 'succeeded'
      ? [
          section(
            `${code(error.code)}${error.step ? ` in ${code(error.step)}` : ''}: ${untrusted(error.message, 2000)}`,
          ),
        ]
      : []
  return line(`${STATUS_EMOJI[input.status]} ${text}`, detail)
}
