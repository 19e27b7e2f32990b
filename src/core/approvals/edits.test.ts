import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../hash-chain.ts'
import {
  approvalDigest,
  checkEdits,
  decodeEdit,
  editAfter,
  editedOutput,
  editText,
  encodeEdit,
  MAX_EDIT_VALUE_CHARS,
  openEdit,
  revise,
} from './edits.ts'

const shown = { message: 'Send?', diff: null, attachments: [] }

describe('approval edits', () => {
  it('keeps the digest of approvals without edit fields as it always was', () => {
    const legacy = createHash('sha256').update(canonicalJson(shown)).digest('hex')
    expect(approvalDigest(shown, null)).toBe(legacy)
    expect(approvalDigest(shown, openEdit({ reply: { value: 'Hi' } }))).not.toBe(legacy)
  })

  it('makes every edit a new digest, even one that restores an earlier text', () => {
    const opened = openEdit({ reply: { type: 'textarea', value: 'Hi' } })
    if (!opened) throw new Error('expected an edit')
    const d0 = approvalDigest(shown, opened)
    const first = revise(shown, opened, { reply: 'Hello' }, 'U1', 10, d0)
    const back = revise(shown, first.edit, { reply: 'Hi' }, 'U2', 20, first.digest)
    expect(new Set([d0, first.digest, back.digest]).size).toBe(3)
    expect(back.edit.revision).toBe(2)
    expect(editedOutput(back.edit)).toEqual({ reply: { value: 'Hi', was_edited: false } })
    expect(editedOutput(first.edit)).toEqual({ reply: { value: 'Hello', was_edited: true } })
    expect(editAfter(back.edit, d0)).toMatchObject({ by: 'U1', fields: ['reply'], digest: first.digest })
    expect(editAfter(back.edit, back.digest)).toBeUndefined()
    // What the store keeps reads back the same.
    expect(decodeEdit(JSON.parse(JSON.stringify(encodeEdit(back.edit))))).toEqual(back.edit)
  })

  it('renders drafts as text: JSON for objects, nothing as empty', () => {
    expect(editText({ a: 1 })).toBe('{\n  "a": 1\n}')
    expect(editText(null)).toBe('')
    expect(editText(3)).toBe('3')
  })

  it('refuses unknown fields, non-text and oversized values, all at once', () => {
    const edit = openEdit({ reply: { value: 'x' } })
    const check = checkEdits(edit, { nope: 'a', reply: 5 })
    expect(check).toMatchObject({ ok: false, code: 'invalid_edits' })
    if (!check.ok) expect(check.problems.map((p) => p.field)).toEqual(['nope', 'reply'])
    expect(checkEdits(edit, { reply: 'y'.repeat(MAX_EDIT_VALUE_CHARS + 1) })).toMatchObject({ code: 'edit_too_large' })
    expect(checkEdits(null, { reply: 'y' })).toMatchObject({ ok: false, code: 'invalid_edits' })
    expect(checkEdits(edit, { reply: '' })).toEqual({ ok: true, values: { reply: '' } })
    const four = openEdit(Object.fromEntries(['a', 'b', 'c', 'd'].map((n) => [n, { value: 'x'.repeat(15_000) }])))
    expect(checkEdits(four, { a: 'y'.repeat(15_001) })).toMatchObject({ ok: false, code: 'edit_too_large' })
    expect(checkEdits(four, { a: 'y'.repeat(14_000) })).toMatchObject({ ok: true })
  })
})
