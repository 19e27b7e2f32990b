// Approve with edits in Slack: the edited fields on the approval message, the Edit & approve form prefilled with the
// current values, reading its submission back exactly, and the thread notice that an edit voided earlier approvals.
import type { EditField } from '../../core/approvals/edits.ts'
import { CALLBACK } from './actions.ts'
import { type Block, context, LIMITS, type Message, type ModalView, plain, section } from './blocks.ts'
import { code, escapeMrkdwn, mention, mentionList, stripControl, truncate, truncateMrkdwn } from './mrkdwn.ts'

/** Slack's plain_text_input holds at most this many characters; a longer value cannot be edited in a Slack form. */
export const SLACK_INPUT_MAX = 3000

/** Characters of all edit fields together that the approval message shows; the diff preview gets the rest. */
const FIELDS_PREVIEW_BUDGET = 3600

const blockIdOf = (name: string) => `e_${name}`
const labelOf = (f: EditField) => f.label ?? f.name

export interface EditMetadata {
  wait: string
  digest: string
  channel?: string
  ts?: string
}

/** Whether Slack can edit this field: its value fits a plain_text_input. */
export const editableInSlack = (f: EditField): boolean => f.value.length <= SLACK_INPUT_MAX

/** How to change a field that is too long for a Slack form. */
const elsewhere = (waitId: string, name: string) => `greenlight waits approve ${waitId} --edit ${name}=…`

/**
 * The edit fields as the approval message shows them: label, who edited it, and the value quoted (cut to a share of
 * the budget, with how much is left out).
 */
export function editFieldBlocks(waitId: string, fields: readonly EditField[]): Block[] {
  const share = Math.max(200, Math.min(LIMITS.sectionText - 200, Math.floor(FIELDS_PREVIEW_BUDGET / fields.length)))
  return fields.slice(0, 10).map((f) => {
    const title = `*${escapeMrkdwn(truncate(stripControl(labelOf(f)), 100))}*`
    const by = f.value !== f.original && f.editedBy ? ` · ✏️ edited by ${mention(f.editedBy)}` : ''
    // Quoted first, then cut: the quote marks count against the section's limit too.
    const quoted = escapeMrkdwn(stripControl(f.value)).replace(/^/gm, '> ')
    const body = f.value.trim() === '' ? '_(empty)_' : truncateMrkdwn(quoted, share)
    const cut =
      body.length < quoted.length && f.value.trim() !== ''
        ? `\n_… ${f.value.length} characters in all: ${code(`greenlight waits show ${waitId}`)} has the full text._`
        : ''
    return section(truncateMrkdwn(`${title}${by}\n${body}${cut}`, LIMITS.sectionText))
  })
}

export interface EditModalInput {
  waitId: string
  digest: string
  stepId: string
  stepName?: string
  fields: readonly EditField[]
  /** The approval message, so its update can follow the vote. */
  channel?: string
  ts?: string
}

/** The Edit & approve form: one input per field, prefilled with the current value, and an optional comment. */
export function editApproveModal(input: EditModalInput): ModalView {
  const metadata: EditMetadata = { wait: input.waitId, digest: input.digest }
  if (input.channel) metadata.channel = input.channel
  if (input.ts) metadata.ts = input.ts
  const blocks: Block[] = [
    context(
      `Approving \`${escapeMrkdwn(truncate(input.stepName ?? input.stepId, 100))}\` with your corrections. A changed value makes a new revision: approvals given so far no longer count, and the other approvers see and approve your version.`,
    ),
  ]
  for (const f of input.fields.slice(0, 10)) {
    if (!editableInSlack(f)) {
      blocks.push(
        section(
          `*${escapeMrkdwn(truncate(stripControl(labelOf(f)), 100))}* is ${f.value.length} characters, more than a Slack form field holds (${SLACK_INPUT_MAX}), so it stays as it is here. To change it: ${code(elsewhere(input.waitId, f.name))} or the console.`,
        ),
      )
      continue
    }
    blocks.push({
      type: 'input',
      block_id: blockIdOf(f.name),
      optional: true,
      label: plain(truncate(labelOf(f), 2000)),
      element: {
        type: 'plain_text_input',
        action_id: 'value',
        max_length: SLACK_INPUT_MAX,
        ...(f.type === 'textarea' || f.value.includes('\n') ? { multiline: true } : {}),
        ...(f.value === '' ? {} : { initial_value: f.value }),
      },
    })
  }
  blocks.push({
    type: 'input',
    block_id: 'comment',
    optional: true,
    label: plain('Comment (optional)'),
    element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 3000 },
  })
  return {
    type: 'modal',
    callback_id: CALLBACK.editApprove,
    title: plain('Edit & approve'),
    submit: plain('Approve'),
    close: plain('Cancel'),
    private_metadata: JSON.stringify(metadata),
    blocks,
  }
}

/** Reads the form's private_metadata; null when it is not one of ours. */
export function parseEditMetadata(text: unknown): EditMetadata | null {
  if (typeof text !== 'string') return null
  let o: unknown
  try {
    o = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof o !== 'object' || o === null) return null
  const { wait, digest, channel, ts } = o as Record<string, unknown>
  if (typeof wait !== 'string' || wait === '' || typeof digest !== 'string' || digest === '') return null
  const out: EditMetadata = { wait, digest }
  if (typeof channel === 'string' && channel !== '') out.channel = channel
  if (typeof ts === 'string' && ts !== '') out.ts = ts
  return out
}

/**
 * What the form submitted: each field that was in the form, its text exactly as typed (an emptied field is ''), and
 * the comment. Fields too long for a form were not in it and are left out, so they keep their value.
 */
export function readEditSubmission(
  fields: readonly EditField[],
  stateValues: unknown,
): { edits: Record<string, string>; comment: string | null } {
  const state = (typeof stateValues === 'object' && stateValues !== null ? stateValues : {}) as Record<
    string,
    Record<string, { value?: unknown } | undefined> | undefined
  >
  const edits: Record<string, string> = {}
  for (const f of fields.slice(0, 10)) {
    if (!editableInSlack(f)) continue
    const value = state[blockIdOf(f.name)]?.value?.value
    edits[f.name] = typeof value === 'string' ? value : ''
  }
  const comment = state.comment?.value?.value
  return { edits, comment: typeof comment === 'string' && comment.trim() !== '' ? comment.trim() : null }
}

/** The form error for a submission the engine refused: shown on the first field, so the typed text is kept. */
export function editErrorBlock(fields: readonly EditField[]): string {
  const first = fields.find(editableInSlack)
  return first ? blockIdOf(first.name) : 'comment'
}

/** The thread notice of an edit: who changed what, and that approvals given before it no longer count. */
export function editNoticeMessage(input: {
  stepId: string
  by: string
  fields: readonly string[]
  voided: number
  pending: readonly string[]
}): Message {
  const names = input.fields.map((f) => `*${escapeMrkdwn(truncate(f, 63))}*`).join(', ')
  const voided =
    input.voided > 0
      ? ` ${input.voided} approval${input.voided === 1 ? '' : 's'} given before the edit no longer count${input.voided === 1 ? 's' : ''}.`
      : ''
  const ask = input.pending.length > 0 ? ` ${mentionList(input.pending)}: please review the edited version.` : ''
  const text = `✏️ ${mention(input.by)} edited ${names} of \`${escapeMrkdwn(truncate(input.stepId, 63))}\` and approved the edited version.${voided}${ask}`
  return {
    text: truncateMrkdwn(text, LIMITS.fallbackText),
    blocks: [section(truncateMrkdwn(text, LIMITS.sectionText))],
  }
}
