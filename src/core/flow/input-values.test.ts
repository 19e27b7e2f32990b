// checkInputValues: the values submitted to an `input` step against its fields, with fixed cases and random values.
import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, randomJson } from '../../../test/support/fuzz-env.ts'
import { checkInputValues, type InputFieldRule } from './input-values.ts'

const FIELDS: InputFieldRule[] = [
  { id: 'reason', label: 'Reason', type: 'text', required: true },
  { id: 'notes', label: 'Notes', type: 'textarea' },
  { id: 'count', label: 'Count', type: 'number', required: true },
  { id: 'env', label: 'Environment', type: 'select', options: ['staging', { label: 'Production', value: 'prod' }] },
  { id: 'owner', label: 'Owner', type: 'user' },
  { id: 'room', label: 'Room', type: 'channel' },
]

const problemsOf = (values: unknown) => {
  const checked = checkInputValues(FIELDS, values)
  return checked.ok ? [] : checked.problems
}

describe('checkInputValues', () => {
  it('accepts values that fit every field', () => {
    const values = { reason: 'audit', notes: 'a\nb', count: 3.5, env: 'prod', owner: 'U0ANN', room: 'C0FORMS' }
    expect(checkInputValues(FIELDS, values)).toEqual({ ok: true, values })
    expect(checkInputValues(FIELDS, { reason: 'x', count: 0 })).toEqual({ ok: true, values: { reason: 'x', count: 0 } })
  })

  it('names each field that is wrong, and why', () => {
    const problems = problemsOf({ count: '3', env: 'Production', owner: 'alice', room: '#general', extra: 1 })
    expect(problems).toEqual([
      { field: 'reason', code: 'required', message: "'Reason' is required." },
      { field: 'count', code: 'invalid_type', message: "'Count' must be a number." },
      { field: 'env', code: 'not_an_option', message: "'Environment' must be one of: staging, prod." },
      { field: 'owner', code: 'invalid_user', message: "'Owner' must be a Slack user id such as U012ABCDEF." },
      { field: 'room', code: 'invalid_channel', message: "'Room' must be a Slack channel id such as C012ABCDEF." },
      {
        field: 'extra',
        code: 'unknown_field',
        message: "'extra' is not a field of this input (fields: reason, notes, count, env, owner, room).",
      },
    ])
  })

  it('treats empty and whitespace-only text, null and non-finite numbers as missing or wrong', () => {
    expect(problemsOf({ reason: '   ', count: 1 }).map((p) => [p.field, p.code])).toEqual([['reason', 'required']])
    expect(problemsOf({ reason: 'x', count: null }).map((p) => [p.field, p.code])).toEqual([['count', 'required']])
    expect(problemsOf({ reason: 'x', count: Number.NaN }).map((p) => p.code)).toEqual(['invalid_type'])
    expect(problemsOf({ reason: 7, count: 1 }).map((p) => [p.field, p.code])).toEqual([['reason', 'invalid_type']])
    // An optional field may be left out or null.
    expect(problemsOf({ reason: 'x', count: 1, notes: null, env: null })).toEqual([])
  })

  it('refuses values that are not an object', () => {
    for (const values of [null, [], 'reason', 42]) {
      expect(problemsOf(values)).toEqual([
        { field: '', code: 'not_an_object', message: 'The values must be an object of field ids to values.' },
      ])
    }
  })

  it('never throws on random values, and accepts exactly the values that fit', () => {
    const seed = fuzzSeed(20261207)
    const rnd = createRandom(seed)
    const chosen = [
      'staging',
      'prod',
      'U0ANN',
      'C0FORMS',
      'W12',
      '',
      ' ',
      'U',
      'c0x',
      undefined,
      Number.POSITIVE_INFINITY,
    ]
    const keys = [...FIELDS.map((f) => f.id), '__proto__', 'constructor', 'other']
    for (let i = 0; i < fuzzRuns(2000); i++) {
      const values = rnd.chance(0.1) ? randomJson(rnd, { chosen, keys }) : randomValues(rnd, chosen, keys)
      const checked = checkInputValues(FIELDS, values)
      expect(checked.ok, `seed ${seed} run ${i}: ${JSON.stringify(values)}`).toBe(fits(values))
      if (!checked.ok) {
        expect(checked.problems.length).toBeGreaterThan(0)
        for (const p of checked.problems) expect(p.message.length).toBeGreaterThan(0)
      }
    }
  })
})

function randomValues(
  rnd: ReturnType<typeof createRandom>,
  chosen: unknown[],
  keys: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of keys) {
    if (rnd.chance(0.3)) continue
    out[key] = rnd.chance(0.5) ? rnd.pick(chosen) : randomJson(rnd, { chosen, keys, maxDepth: 1 })
  }
  return out
}

/** The rule, written a second way: what a submission must look like to be accepted. */
function fits(values: unknown): boolean {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return false
  const v = values as Record<string, unknown>
  const ids = new Set(FIELDS.map((f) => f.id))
  if (Object.keys(v).some((k) => !ids.has(k))) return false
  const present = (x: unknown) => x !== undefined && x !== null && !(typeof x === 'string' && x.trim() === '')
  const text = (x: unknown) => typeof x === 'string'
  if (!present(v.reason) || !text(v.reason)) return false
  if (present(v.notes) && !text(v.notes)) return false
  if (!present(v.count) || typeof v.count !== 'number' || !Number.isFinite(v.count)) return false
  if (present(v.env) && !['staging', 'prod'].includes(v.env as string)) return false
  if (present(v.owner) && !(typeof v.owner === 'string' && /^[UW][A-Z0-9]+$/.test(v.owner))) return false
  if (present(v.room) && !(typeof v.room === 'string' && /^[CGD][A-Z0-9]+$/.test(v.room))) return false
  return true
}
