// The ids and payload formats that tie rendered views to the listeners that handle their buttons and forms.

export const ACTION = {
  approve: 'gl_approve',
  /** Opens the reason modal with an optional comment; the plain Approve click needs no modal. */
  approveWithComment: 'gl_approve_comment',
  reject: 'gl_reject',
  requestChanges: 'gl_request_changes',
  /** Opens the Edit & approve form of an approval with edit fields. */
  editApprove: 'gl_edit_approve',
  inputOpen: 'gl_input_open',
  /** A link to the approval's console page; its click carries no vote. */
  viewDiff: 'gl_view_diff',
} as const

export const CALLBACK = {
  reason: 'gl_reason',
  input: 'gl_input',
  runInputs: 'gl_run_inputs',
  editApprove: 'gl_edit_approve',
} as const

export type ReasonDecision = 'approve' | 'reject' | 'request_changes'

/** What an approval button carries: the wait and the digest of the artifact the clicker saw. */
export interface ApprovalActionValue {
  wait: string
  digest: string
}

export interface ReasonMetadata extends ApprovalActionValue {
  decision: ReasonDecision
  /** The approval message, so the listener can update it after the vote. */
  channel?: string
  ts?: string
}

export interface RunInputsMetadata {
  flow: string
  draft: boolean
  given: Record<string, unknown>
  channel?: string
}

export const approvalActionValue = (wait: string, digest: string): string => JSON.stringify({ wait, digest })
export const inputOpenValue = (wait: string): string => JSON.stringify({ wait })

function parseObject(text: unknown): Record<string, unknown> | null {
  if (typeof text !== 'string') return null
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null
  } catch {
    return null
  }
}

const isText = (v: unknown): v is string => typeof v === 'string' && v !== ''

/** Reads an approval button's `value`; null when it is not one of ours (never trust it for identity). */
export function parseApprovalActionValue(value: unknown): ApprovalActionValue | null {
  const o = parseObject(value)
  return o && isText(o.wait) && isText(o.digest) ? { wait: o.wait, digest: o.digest } : null
}

/** Reads the `gl_input_open` button value. */
export function parseInputOpenValue(value: unknown): { wait: string } | null {
  const o = parseObject(value)
  return o && isText(o.wait) ? { wait: o.wait } : null
}

export function parseReasonMetadata(metadata: unknown): ReasonMetadata | null {
  const o = parseObject(metadata)
  if (!o || !isText(o.wait) || !isText(o.digest)) return null
  if (o.decision !== 'approve' && o.decision !== 'reject' && o.decision !== 'request_changes') return null
  const out: ReasonMetadata = { wait: o.wait, digest: o.digest, decision: o.decision }
  if (isText(o.channel)) out.channel = o.channel
  if (isText(o.ts)) out.ts = o.ts
  return out
}

export function parseInputMetadata(metadata: unknown): { wait: string } | null {
  const o = parseObject(metadata)
  return o && isText(o.wait) ? { wait: o.wait } : null
}

export function parseRunInputsMetadata(metadata: unknown): RunInputsMetadata | null {
  const o = parseObject(metadata)
  if (!o || !isText(o.flow)) return null
  const given = parseObject(JSON.stringify(o.given ?? {})) ?? {}
  const out: RunInputsMetadata = { flow: o.flow, draft: o.draft === true, given }
  if (isText(o.channel)) out.channel = o.channel
  return out
}
