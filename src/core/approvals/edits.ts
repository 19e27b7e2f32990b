// Approve with edits (SPEC §4): the values an approval offers for editing, how an edit makes a new revision of what
// is shown (and so a new digest), and what the step output says about them. Pure: the engine stores and applies it.
import { createHash } from 'node:crypto'
import {
  EDIT_FIELD_TYPES,
  type EditFieldType,
  MAX_EDIT_FIELDS,
  MAX_EDIT_TOTAL_CHARS,
  MAX_EDIT_VALUE_CHARS,
} from '../flow/human-steps-model.ts'
import { STEP_ID_PATTERN } from '../flow/model-common.ts'
import { canonicalJson } from '../hash-chain.ts'

export { EDIT_FIELD_TYPES, type EditFieldType, MAX_EDIT_FIELDS, MAX_EDIT_TOTAL_CHARS, MAX_EDIT_VALUE_CHARS }

/** Edits one approval may take before it is decided: each is a revision of what is shown, kept in the wait's spec. */
export const MAX_EDIT_REVISIONS = 50

export interface EditField {
  name: string
  type: EditFieldType
  /** As the flow wrote it; null: show the name. */
  label: string | null
  /** The current value: the rendered draft, or the latest edit. */
  value: string
  /** The value the approval opened with (the rendered template). */
  original: string
  /** Who last changed the value, when someone did. */
  editedBy: string | null
}

/** One edit that replaced what was shown: the digest it replaced, who made it, when, and which fields changed. */
export interface EditRevision {
  replaced: string
  digest: string
  by: string
  at: number
  fields: string[]
}

export interface ApprovalEdit {
  fields: EditField[]
  /** 0 as opened; each edit that changes a value adds one. */
  revision: number
  history: EditRevision[]
}

/** What an approval shows besides its edit values; the digest binds these bytes. */
export interface ShownArtifact {
  message: string
  diff: string | null
  attachments: unknown[]
}

type Raw = Record<string, unknown>
const record = (value: unknown): Raw =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Raw) : {}
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null)

/** The values by name, as the digest and the output read them. */
export function editValues(edit: ApprovalEdit): Record<string, string> {
  return Object.fromEntries(edit.fields.map((f) => [f.name, f.value]))
}

/**
 * The digest of what an approval shows: message, diff and attachments, and with edit fields their current values and
 * the revision (so an edit that restores an earlier text is still a new revision, and earlier votes stay void).
 * Without edit fields it is the digest approvals always had.
 */
export function approvalDigest(shown: ShownArtifact, edit: ApprovalEdit | null): string {
  const input =
    edit === null
      ? { message: shown.message, diff: shown.diff, attachments: shown.attachments }
      : {
          message: shown.message,
          diff: shown.diff,
          attachments: shown.attachments,
          edit: { revision: edit.revision, values: editValues(edit) },
        }
  return createHash('sha256').update(canonicalJson(input)).digest('hex')
}

/** A rendered template as an edit field's text: a string as is, JSON for an object, '' for nothing. */
export function editText(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'object') return JSON.stringify(value, null, 2) ?? ''
  return String(value)
}

/** The edit of a freshly opened approval, from the step's evaluated `edit.fields`; null when it declares none. */
export function openEdit(
  fields: Record<string, { type?: string; label?: string; value?: unknown }> | undefined,
): ApprovalEdit | null {
  if (fields === undefined || Object.keys(fields).length === 0) return null
  return {
    fields: Object.entries(fields).map(([name, f]) => {
      const value = editText(f.value)
      return {
        name,
        type: f.type === 'textarea' ? 'textarea' : 'text',
        label: f.label ?? null,
        value,
        original: value,
        editedBy: null,
      }
    }),
    revision: 0,
    history: [],
  }
}

/** How editFieldProblems says a value is too long (the step reports that as approval_edit_too_large instead). */
export const VALUE_TOO_LONG = 'value is over'

/**
 * What is wrong with edit fields given at run time rather than validated in a flow file (the built-in request flow
 * takes them from its inputs): names, count, types and sizes, as the flow model checks them. Empty: fine.
 */
export function editFieldProblems(fields: unknown): string[] {
  if (fields === undefined) return []
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields))
    return ['edit fields are an object of names to { type, label, value }']
  const entries = Object.entries(fields as Raw)
  const problems: string[] = []
  if (entries.length === 0 || entries.length > MAX_EDIT_FIELDS)
    problems.push(`there must be 1 to ${MAX_EDIT_FIELDS} edit fields, not ${entries.length}`)
  for (const [name, raw] of entries.slice(0, MAX_EDIT_FIELDS + 1)) {
    const f = record(raw)
    if (!STEP_ID_PATTERN.test(name)) problems.push(`'${name.slice(0, 80)}' is not a field name (a-z, 0-9, _)`)
    if (f.type !== undefined && !(EDIT_FIELD_TYPES as readonly unknown[]).includes(f.type))
      problems.push(`'${name.slice(0, 80)}': type must be text or textarea`)
    if (f.label !== undefined && (typeof f.label !== 'string' || f.label.length === 0 || f.label.length > 100))
      problems.push(`'${name.slice(0, 80)}': label must be text of 1 to 100 characters`)
    if (editText(f.value).length > MAX_EDIT_VALUE_CHARS)
      problems.push(`'${name.slice(0, 80)}': ${VALUE_TOO_LONG} ${MAX_EDIT_VALUE_CHARS} characters`)
  }
  const total = entries.reduce((sum, [, raw]) => sum + editText(record(raw).value).length, 0)
  if (total > MAX_EDIT_TOTAL_CHARS)
    problems.push(`all fields together: ${VALUE_TOO_LONG} ${MAX_EDIT_TOTAL_CHARS} characters`)
  return problems
}

/** What is too long in a freshly rendered edit (a field, or all together); the approval refuses to open with it. */
export function oversize(edit: ApprovalEdit): string | null {
  const long = edit.fields.filter((f) => f.value.length > MAX_EDIT_VALUE_CHARS)
  if (long.length > 0)
    return `Edit field ${long.map((f) => `'${f.name}' (${f.value.length} characters)`).join(', ')} is longer than the ${MAX_EDIT_VALUE_CHARS} characters an edit field may hold.`
  const total = edit.fields.reduce((sum, f) => sum + f.value.length, 0)
  if (total > MAX_EDIT_TOTAL_CHARS)
    return `The edit fields hold ${total} characters together; at most ${MAX_EDIT_TOTAL_CHARS} are allowed.`
  return null
}

/** The edit as the wait's spec stores it (snake_case JSON). */
export function encodeEdit(edit: ApprovalEdit): Raw {
  return {
    fields: edit.fields.map((f) => ({
      name: f.name,
      type: f.type,
      label: f.label,
      value: f.value,
      original: f.original,
      edited_by: f.editedBy,
    })),
    revision: edit.revision,
    history: edit.history,
  }
}

/** Reads the stored edit tolerantly; null when the approval has no edit fields. */
export function decodeEdit(value: unknown): ApprovalEdit | null {
  const raw = record(value)
  if (!Array.isArray(raw.fields) || raw.fields.length === 0) return null
  const fields = raw.fields.map((item): EditField => {
    const f = record(item)
    const current = text(f.value) ?? ''
    return {
      name: text(f.name) ?? '',
      type: f.type === 'textarea' ? 'textarea' : 'text',
      label: text(f.label),
      value: current,
      original: text(f.original) ?? current,
      editedBy: text(f.edited_by),
    }
  })
  const history = (Array.isArray(raw.history) ? raw.history : []).map((item): EditRevision => {
    const h = record(item)
    return {
      replaced: text(h.replaced) ?? '',
      digest: text(h.digest) ?? '',
      by: text(h.by) ?? '',
      at: Number(h.at ?? 0),
      fields: Array.isArray(h.fields) ? h.fields.filter((x): x is string => typeof x === 'string') : [],
    }
  })
  return { fields, revision: Number(raw.revision ?? 0) || 0, history }
}

/** What the step output carries: every field's final value and whether it differs from the draft. */
export function editedOutput(edit: ApprovalEdit): Record<string, { value: string; was_edited: boolean }> {
  return Object.fromEntries(edit.fields.map((f) => [f.name, { value: f.value, was_edited: f.value !== f.original }]))
}

export interface EditProblem {
  field: string | null
  message: string
}

export type EditCheck =
  | { ok: true; values: Record<string, string> }
  | { ok: false; code: 'invalid_edits' | 'edit_too_large'; message: string; problems: EditProblem[] }

/**
 * Checks what a voter sent as edits, `{name: text}`: only declared fields, text values, each within the limit.
 * Reports every problem at once; nothing is applied unless all are fine.
 */
export function checkEdits(edit: ApprovalEdit | null, given: unknown): EditCheck {
  const declared = edit?.fields.map((f) => f.name) ?? []
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    return {
      ok: false,
      code: 'invalid_edits',
      message: 'Edits are an object of field names to text, e.g. {"reply": "…"}.',
      problems: [{ field: null, message: 'not an object' }],
    }
  }
  const entries = Object.entries(given as Raw)
  if (edit === null) {
    return {
      ok: false,
      code: 'invalid_edits',
      message: 'This approval declares no edit fields, so it cannot be approved with edits.',
      problems: entries.map(([name]) => ({ field: name, message: 'not an edit field of this approval' })),
    }
  }
  const problems: EditProblem[] = []
  // Only sizes wrong: edit_too_large; anything else wrong: invalid_edits.
  let malformed = false
  for (const [name, value] of entries) {
    if (!declared.includes(name)) {
      malformed = true
      problems.push({ field: name, message: `not an edit field (${declared.join(', ')})` })
    } else if (typeof value !== 'string') {
      malformed = true
      problems.push({ field: name, message: 'must be text' })
    } else if (value.length > MAX_EDIT_VALUE_CHARS) {
      problems.push({
        field: name,
        message: `is ${value.length} characters; at most ${MAX_EDIT_VALUE_CHARS} are allowed`,
      })
    }
  }
  const total = edit.fields.reduce((sum, f) => {
    const sent = (given as Raw)[f.name]
    return sum + (typeof sent === 'string' ? sent.length : f.value.length)
  }, 0)
  if (problems.length === 0 && total > MAX_EDIT_TOTAL_CHARS) {
    problems.push({
      field: null,
      message: `all fields together would hold ${total} characters; at most ${MAX_EDIT_TOTAL_CHARS} are allowed`,
    })
  }
  if (problems.length > 0) {
    return {
      ok: false,
      code: malformed ? 'invalid_edits' : 'edit_too_large',
      message: `The edits were refused: ${problems.map((p) => (p.field ? `'${p.field}' ${p.message}` : p.message)).join('; ')}.`,
      problems,
    }
  }
  return { ok: true, values: Object.fromEntries(entries) as Record<string, string> }
}

/** The fields whose sent value differs from the current one, in declaration order. */
export function changedFields(edit: ApprovalEdit, values: Record<string, string>): string[] {
  return edit.fields.filter((f) => values[f.name] !== undefined && values[f.name] !== f.value).map((f) => f.name)
}

/**
 * The next revision once `by` changed `values`: the new values, the revision counter, and the history entry (the
 * digest it replaces and the new one), computed over what is shown with the new values.
 */
export function revise(
  shown: ShownArtifact,
  edit: ApprovalEdit,
  values: Record<string, string>,
  by: string,
  at: number,
  replaced: string,
): { edit: ApprovalEdit; digest: string; changed: string[] } {
  const changed = changedFields(edit, values)
  const fields = edit.fields.map((f) =>
    changed.includes(f.name) ? { ...f, value: values[f.name] as string, editedBy: by } : f,
  )
  const next: ApprovalEdit = { fields, revision: edit.revision + 1, history: edit.history }
  const digest = approvalDigest(shown, next)
  next.history = [...edit.history, { replaced, digest, by, at, fields: changed }]
  return { edit: next, digest, changed }
}

/** The edit that replaced `digest`, when `digest` is one this approval showed before an edit. */
export function editAfter(edit: ApprovalEdit | null, digest: string): EditRevision | undefined {
  return edit?.history.find((h) => h.replaced === digest)
}
