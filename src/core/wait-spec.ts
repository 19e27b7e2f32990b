// What a parked step asked for, as its wait row keeps it: decoded once into a typed union per wait kind, so no
// reader casts `wait.spec`. Decoding is tolerant: rows written by earlier versions (a single `escalate`) still read.
import { type ApprovalEdit, decodeEdit } from './approvals/edits.ts'
import type { ApprovalOutcome, InputField } from './flow/human-steps-model.ts'
import type { Route } from './flow/index.ts'
import type { WaitKind } from './run-status.ts'

export interface PeopleList {
  users: string[]
  usergroups: string[]
}

/** One rung of an escalation ladder: after this long (from when the approval opened), these people may vote too. */
export interface EscalationLevel {
  afterMs: number
  /** As written in the flow (`4h`), for messages. */
  after: string
  to: PeopleList
}

export interface ApprovalSpec {
  kind: 'approval'
  message: string
  diff: string | null
  attachments: unknown[]
  approvers: PeopleList & { channel: string | null }
  required: number
  allowSelfApproval: boolean
  initiator: string
  remindEveryMs: number | null
  escalate: EscalationLevel[]
  /** People added by the escalation levels that fired so far. */
  escalatedTo: string[]
  on: Partial<Record<ApprovalOutcome, Route>>
  /** Approve with edits: the fields approvers may correct, their current values and the edits so far. */
  edit: ApprovalEdit | null
}

export interface InputSpec {
  kind: 'input'
  /** As the flow declared them (validated when the flow was pushed). */
  fields: InputField[]
  assignees: PeopleList | null
  message: string | null
}

export interface CallbackWaitSpec {
  kind: 'wait'
  schema: unknown
  onTimeout: 'fail' | 'continue'
  default: unknown
  notify: string | null
}

export interface JobSpec {
  kind: 'job'
  type: string
  payload: unknown
}

export interface SleepSpec {
  kind: 'sleep'
  until: string | null
}

/** A parent waiting on the child run its `flow` step started. */
export interface ChildFlowSpec {
  kind: 'flow'
  child: string
  flow: string
}

export type WaitSpec = ApprovalSpec | InputSpec | CallbackWaitSpec | JobSpec | SleepSpec | ChildFlowSpec

type Raw = Record<string, unknown>

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : []
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null)
const record = (value: unknown): Raw => (value !== null && typeof value === 'object' ? (value as Raw) : {})

export function peopleList(value: unknown): PeopleList {
  const raw = record(value)
  return { users: strings(raw.users), usergroups: strings(raw.usergroups) }
}

/** The ladder as stored: `escalate` is a list of levels, or (rows before ladders) one `{after, to}` object. */
function ladderOf(value: unknown): EscalationLevel[] {
  const levels = Array.isArray(value) ? value : value ? [value] : []
  return levels.map((level) => {
    const raw = record(level)
    return {
      afterMs: Number(raw.after_ms ?? 0),
      after: text(raw.after) ?? '',
      to: peopleList(raw.to),
    }
  })
}

function approvalSpec(raw: Raw): ApprovalSpec {
  const approvers = record(raw.approvers)
  return {
    kind: 'approval',
    message: text(raw.message) ?? '',
    diff: text(raw.diff),
    attachments: Array.isArray(raw.attachments) ? raw.attachments : [],
    approvers: { ...peopleList(approvers), channel: text(approvers.channel) },
    required: Math.max(1, Number(raw.required ?? 1) || 1),
    allowSelfApproval: raw.allow_self_approval === true,
    initiator: text(raw.initiator) ?? '',
    remindEveryMs: typeof raw.remind_every_ms === 'number' && raw.remind_every_ms > 0 ? raw.remind_every_ms : null,
    escalate: ladderOf(raw.escalate),
    escalatedTo: strings(raw.escalated_to),
    on: record(raw.on) as ApprovalSpec['on'],
    edit: decodeEdit(raw.edit),
  }
}

export function decodeWaitSpec(kind: WaitKind, spec: Raw | null): WaitSpec {
  const raw = spec ?? {}
  switch (kind) {
    case 'approval':
      return approvalSpec(raw)
    case 'input':
      return {
        kind,
        fields: Array.isArray(raw.fields) ? (raw.fields as InputField[]) : [],
        assignees: raw.assignees ? peopleList(raw.assignees) : null,
        message: text(raw.message),
      }
    case 'wait':
      return {
        kind,
        schema: raw.schema ?? null,
        onTimeout: raw.on_timeout === 'continue' ? 'continue' : 'fail',
        default: raw.default ?? null,
        notify: text(raw.notify),
      }
    case 'job':
      return { kind, type: text(raw.type) ?? '', payload: raw.payload ?? null }
    case 'sleep':
      return { kind, until: text(raw.until) }
    case 'flow':
      return { kind, child: text(raw.child) ?? '', flow: text(raw.flow) ?? '' }
  }
}

/** A wait's spec when the caller knows its kind; a wait of another kind is a programming error. */
export function specOf<K extends WaitSpec['kind']>(
  wait: { kind: WaitKind; spec: Raw | null },
  kind: K,
): Extract<WaitSpec, { kind: K }> {
  if (wait.kind !== kind) throw new Error(`expected a ${kind} wait, got ${wait.kind}`)
  return decodeWaitSpec(wait.kind, wait.spec) as Extract<WaitSpec, { kind: K }>
}

/** The JSON Schema a callback's body must match: a wait's `schema`; a job's callback takes any body. */
export function callbackSchemaOf(wait: { kind: WaitKind; spec: Raw | null }): unknown {
  return wait.kind === 'wait' ? specOf(wait, 'wait').schema : null
}
