import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, randomJson } from '../../test/support/fuzz-env.ts'
import type { WaitKind } from './run-status.ts'
import { callbackSchemaOf, decodeWaitSpec, specOf } from './wait-spec.ts'

const KINDS: WaitKind[] = ['approval', 'input', 'wait', 'job', 'sleep', 'flow']

/** Rows with the keys specs use, holding any JSON (and values a careless writer might leave). */
const SPEC_JSON = {
  keys: [
    'message',
    'diff',
    'approvers',
    'users',
    'usergroups',
    'channel',
    'required',
    'escalate',
    'after',
    'to',
    'escalated_to',
    'remind_every_ms',
    'on',
    'fields',
    'assignees',
    'schema',
    'on_timeout',
    'type',
    'until',
    'edit',
    'value',
    'original',
    'revision',
    'history',
    '__proto__',
  ],
  chosen: [-1, 0, 1e308, Number.NaN, '', 'x', [], {}],
  maxDepth: 3,
}

describe('decodeWaitSpec', () => {
  it('reads an approval as the step stored it, and a ladder of levels', () => {
    const spec = decodeWaitSpec('approval', {
      message: 'Ship?',
      diff: 'res://abc',
      approvers: { users: ['U1'], usergroups: ['S1'], channel: 'C1' },
      required: 2,
      allow_self_approval: true,
      initiator: 'U9',
      remind_every_ms: 3_600_000,
      escalate: [
        { after: '1h', after_ms: 3_600_000, to: { users: ['U2'] } },
        { after: '4h', after_ms: 14_400_000, to: { usergroups: ['S2'] } },
      ],
      escalated_to: ['U2'],
      on: { rejected: 'continue' },
    })
    expect(spec).toEqual({
      kind: 'approval',
      message: 'Ship?',
      diff: 'res://abc',
      attachments: [],
      approvers: { users: ['U1'], usergroups: ['S1'], channel: 'C1' },
      required: 2,
      allowSelfApproval: true,
      initiator: 'U9',
      remindEveryMs: 3_600_000,
      escalate: [
        { after: '1h', afterMs: 3_600_000, to: { users: ['U2'], usergroups: [] } },
        { after: '4h', afterMs: 14_400_000, to: { users: [], usergroups: ['S2'] } },
      ],
      escalatedTo: ['U2'],
      on: { rejected: 'continue' },
      edit: null,
    })
  })

  it('reads the edit fields of an approval with edits, tolerating a missing original', () => {
    const spec = specOf(
      {
        kind: 'approval',
        spec: {
          edit: {
            fields: [
              { name: 'reply', type: 'textarea', label: 'Reply', value: 'Hi!', original: 'Hi', edited_by: 'U1' },
              { name: 'cmd', type: 'bogus', value: 'ls' },
            ],
            revision: 1,
            history: [{ replaced: 'a', digest: 'b', by: 'U1', at: 5, fields: ['reply'] }],
          },
        },
      },
      'approval',
    )
    expect(spec.edit).toEqual({
      fields: [
        { name: 'reply', type: 'textarea', label: 'Reply', value: 'Hi!', original: 'Hi', editedBy: 'U1' },
        { name: 'cmd', type: 'text', label: null, value: 'ls', original: 'ls', editedBy: null },
      ],
      revision: 1,
      history: [{ replaced: 'a', digest: 'b', by: 'U1', at: 5, fields: ['reply'] }],
    })
  })

  it('reads an approval stored before ladders: one escalate object is a ladder of one', () => {
    const spec = specOf(
      { kind: 'approval', spec: { escalate: { after: '4h', to: { users: ['U0ONCALL'] } } } },
      'approval',
    )
    expect(spec.escalate).toEqual([{ after: '4h', afterMs: 0, to: { users: ['U0ONCALL'], usergroups: [] } }])
    expect(spec.required).toBe(1)
  })

  it('gives a callback schema only for a wait', () => {
    expect(callbackSchemaOf({ kind: 'wait', spec: { schema: { type: 'object' } } })).toEqual({ type: 'object' })
    expect(callbackSchemaOf({ kind: 'job', spec: { schema: { type: 'object' } } })).toBeNull()
  })

  it('refuses to read a wait as another kind', () => {
    expect(() => specOf({ kind: 'wait', spec: {} }, 'approval')).toThrow(/expected a approval wait, got wait/)
  })

  it('never throws on whatever a row holds, and always answers the kind it was asked', () => {
    const random = createRandom(fuzzSeed(20261207))
    for (let i = 0; i < fuzzRuns(500); i++) {
      const kind = random.pick(KINDS)
      const raw = random.chance(0.2) ? null : (randomJson(random, SPEC_JSON) as Record<string, unknown>)
      const spec = decodeWaitSpec(kind, raw !== null && typeof raw === 'object' ? raw : null)
      expect(spec.kind).toBe(kind)
      if (spec.kind === 'approval') {
        expect(spec.required).toBeGreaterThanOrEqual(1)
        expect(Array.isArray(spec.escalate)).toBe(true)
        expect(spec.approvers.users.every((u) => typeof u === 'string')).toBe(true)
      }
    }
  })
})
