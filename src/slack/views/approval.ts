// The approval message (request, facts, bounded diff preview, tally, buttons or outcome) and the reason modal.
import type { ApprovalEdit } from '../../core/approvals/edits.ts'
import { tally, type VoteDecision } from '../../core/approvals/policy.ts'
import type { ApprovalOutcome } from '../../core/flow/index.ts'
import { ACTION, approvalActionValue, CALLBACK, type ReasonDecision } from './actions.ts'
import {
  type Block,
  button,
  context,
  type Element,
  header,
  jsonLength,
  LIMITS,
  type Message,
  type ModalView,
  mrkdwn,
  plain,
  section,
} from './blocks.ts'
import { diffPreview } from './diff-preview.ts'
import { editFieldBlocks } from './edit-modal.ts'
import {
  code,
  defangBroadcasts,
  escapeMrkdwn,
  flowRef,
  mention,
  mentionList,
  slackDate,
  stripControl,
  truncate,
  truncateMrkdwn,
} from './mrkdwn.ts'

/** How an approval message can end: an outcome the votes or the timeout reached, or the run was canceled. */
export type ShownOutcome = ApprovalOutcome | 'canceled'

export interface ApprovalVote {
  voter: string
  decision: VoteDecision
  comment: string | null
  /** The digest of the artifact the voter saw; votes on another digest no longer count. */
  digest: string
  at: number
}

export type ApprovalState =
  | { kind: 'open' }
  | { kind: 'decided'; outcome: ShownOutcome; by: readonly string[]; at: number; comment?: string | null }
  /** A newer revision replaced this request; `decided` is how this one ended (changes requested, usually). */
  | { kind: 'superseded'; decided?: Extract<ApprovalState, { kind: 'decided' }> }

export interface ApprovalMessageInput {
  waitId: string
  digest: string
  runId: string
  stepId: string
  stepName?: string
  flow: { slug: string; name?: string; version: number | null }
  /** Who asked: the run's initiator. */
  requestedBy: string
  /** The rendered request text (mrkdwn written by the flow). */
  message: string
  /** The diff text (the caller reads a res:// diff); the full diff goes to the thread as a file. */
  diff?: string | null
  attachments?: readonly { title: string }[]
  required: number
  votes: readonly ApprovalVote[]
  deadlineAt?: number | null
  state?: ApprovalState
  /** Approve with edits: the fields (current values) shown, and the Edit & approve button while open. */
  edit?: ApprovalEdit | null
  /** The approval's page in the web console: a "View full diff" link button. */
  viewUrl?: string | undefined
}

/** Room kept for the tally and the buttons or outcome line, so the preview stays the same as votes arrive. */
const TAIL_RESERVE = 2600
const COMMENT_MAX = 800

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/** `1 of 2 approvals`. */
export function tallyText(approvals: number, required: number): string {
  return `${approvals} of ${required} approval${required === 1 ? '' : 's'}`
}

/** The vote buttons, shared by the approval message and the App Home; `editable` adds Edit & approve. */
export function approvalButtons(waitId: string, digest: string, options: { editable?: boolean } = {}): Block {
  const value = approvalActionValue(waitId, digest)
  const elements: Element[] = [
    button(ACTION.approve, 'Approve', value, 'primary'),
    ...(options.editable ? [button(ACTION.editApprove, 'Edit & approve', value)] : []),
    button(ACTION.approveWithComment, 'Approve with comment', value),
    button(ACTION.reject, 'Reject', value, 'danger'),
    button(ACTION.requestChanges, 'Request changes', value),
  ]
  return { type: 'actions', elements }
}

function facts(input: ApprovalMessageInput): Block {
  const name = input.flow.name ? `${escapeMrkdwn(truncate(input.flow.name, 100))}\n` : ''
  const fields = [
    `*Flow*\n${name}${code(truncate(flowRef(input.flow.slug, input.flow.version), 200))}`,
    `*Run*\n${code(truncate(input.runId, 200))}`,
    `*Asked by*\n${mention(truncate(input.requestedBy, 200))}`,
    `*Quorum*\n${plural(input.required, 'approval')}`,
  ]
  if (input.deadlineAt != null) fields.push(`*Times out*\n${slackDate(input.deadlineAt)}`)
  fields.push(`*Artifact*\n${code(`sha256:${input.digest.slice(0, 12)}`)}`)
  return { type: 'section', fields: fields.map(mrkdwn) }
}

function quote(comment: string): string {
  const text = truncateMrkdwn(escapeMrkdwn(stripControl(comment).trim()), COMMENT_MAX)
  return text === '' ? '' : `\n${text.replace(/^/gm, '> ')}`
}

const OUTCOME: Record<ShownOutcome, string> = {
  approved: '✅ *Approved*',
  rejected: '❌ *Rejected*',
  changes_requested: '🔁 *Changes requested*',
  timed_out: '⌛ *Timed out*',
  canceled: '🚫 *Canceled*',
}

/** `✅ *Approved* by <@U1>, <@U2> · <!date…>` and the comment, quoted. */
export function outcomeLine(state: Extract<ApprovalState, { kind: 'decided' }>): string {
  const by = state.by.length > 0 ? ` by ${mentionList(state.by)}` : ''
  return `${OUTCOME[state.outcome]}${by} · ${slackDate(state.at)}${quote(state.comment ?? '')}`
}

function tail(input: ApprovalMessageInput, state: ApprovalState): Block[] {
  const t = tally(input.votes, input.required, input.digest)
  const stale = input.votes.filter((v) => v.digest !== input.digest).length
  let line = `*${tallyText(t.approvals, t.required)}*`
  if (t.approvers.length > 0) line += ` · ${mentionList(t.approvers)}`
  if (stale > 0) line += ` · ${plural(stale, 'vote')} on an earlier revision no longer count${stale === 1 ? 's' : ''}`
  const blocks = [section(line)]
  if (state.kind === 'open')
    blocks.push(approvalButtons(input.waitId, input.digest, { editable: (input.edit?.fields.length ?? 0) > 0 }))
  else if (state.kind === 'decided') blocks.push(section(outcomeLine(state)))
  else {
    if (state.decided) blocks.push(section(outcomeLine(state.decided)))
    blocks.push(context('⤴️ Superseded by a newer revision; votes on this one no longer count.'))
  }
  if (input.viewUrl)
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', action_id: ACTION.viewDiff, text: plain('View full diff'), url: input.viewUrl }],
    })
  return blocks
}

function fallbackText(input: ApprovalMessageInput, state: ApprovalState): string {
  const step = input.stepName ?? input.stepId
  const what =
    state.kind === 'decided'
      ? `Approval ${state.outcome.replace('_', ' ')}`
      : state.kind === 'superseded'
        ? 'Approval superseded'
        : 'Approval requested'
  const t = tally(input.votes, input.required, input.digest)
  const text = `${what}: ${step} on ${flowRef(input.flow.slug, input.flow.version)} (run ${input.runId}) — ${tallyText(t.approvals, t.required)}`
  return truncateMrkdwn(escapeMrkdwn(stripControl(text)), LIMITS.fallbackText)
}

/** The approval message in its open, decided or superseded state; always within Slack's message limits. */
export function approvalMessage(input: ApprovalMessageInput): Message {
  const state = input.state ?? { kind: 'open' }
  const request = truncateMrkdwn(defangBroadcasts(stripControl(input.message)).trim(), LIMITS.sectionText)
  const head: Block[] = [
    header(truncate(`Approval requested: ${input.stepName ?? input.stepId}`, LIMITS.header)),
    section(request === '' ? '_(no request text)_' : request),
    ...(input.edit ? editFieldBlocks(input.waitId, input.edit.fields) : []),
    facts(input),
  ]
  if (input.attachments && input.attachments.length > 0) {
    const titles = input.attachments.slice(0, 10).map((a) => escapeMrkdwn(truncate(stripControl(a.title), 80)))
    const more = input.attachments.length > 10 ? ` and ${input.attachments.length - 10} more` : ''
    head.push(context(`📎 In the thread: ${titles.join(', ')}${more}`))
  }
  const after = tail(input, state)
  let diffBlocks: Block[] = []
  if (input.diff) {
    let jsonChars = LIMITS.messageJson - jsonLength(head) - TAIL_RESERVE
    const blocks = LIMITS.messageBlocks - head.length - after.length
    // The reserve covers the tail; shrink further only if an unusually large tail does not fit.
    for (let i = 0; i < 5; i++) {
      diffBlocks = diffPreview(input.diff, { jsonChars, blocks }).blocks
      const over = jsonLength([...head, ...diffBlocks, ...after]) - LIMITS.messageJson
      if (over <= 0) break
      jsonChars -= over + 200
    }
  }
  return { text: fallbackText(input, state), blocks: [...head, ...diffBlocks, ...after] }
}

export interface ReasonModalInput {
  waitId: string
  digest: string
  decision: ReasonDecision
  /** The approval message, carried so the listener can update it. */
  channel?: string
  ts?: string
}

/** The modal Reject and Request changes open: one required multiline `reason`. */
const REASON_MODAL: Record<
  ReasonModalInput['decision'],
  { title: string; submit: string; label: string; hint: string; optional: boolean }
> = {
  approve: {
    title: 'Approve',
    submit: 'Approve',
    label: 'Comment (optional)',
    hint: 'Kept with your vote; the flow sees it as the comment when yours completes the quorum.',
    optional: true,
  },
  reject: {
    title: 'Reject',
    submit: 'Reject',
    label: 'Why are you rejecting this?',
    hint: 'The run fails or follows its rejected route.',
    optional: false,
  },
  request_changes: {
    title: 'Request changes',
    submit: 'Send',
    label: 'What should change?',
    hint: 'The flow sees this as the comment.',
    optional: false,
  },
}

export function approvalReasonModal(input: ReasonModalInput): ModalView {
  const text = REASON_MODAL[input.decision]
  const metadata: Record<string, string> = { wait: input.waitId, digest: input.digest, decision: input.decision }
  if (input.channel) metadata.channel = input.channel
  if (input.ts) metadata.ts = input.ts
  return {
    type: 'modal',
    callback_id: CALLBACK.reason,
    title: plain(text.title),
    submit: plain(text.submit),
    close: plain('Cancel'),
    private_metadata: JSON.stringify(metadata),
    blocks: [
      {
        type: 'input',
        block_id: 'reason',
        ...(text.optional ? { optional: true } : {}),
        label: plain(text.label),
        hint: plain(text.hint),
        element: { type: 'plain_text_input', action_id: 'reason', multiline: true, max_length: 3000 },
      },
    ],
  }
}
