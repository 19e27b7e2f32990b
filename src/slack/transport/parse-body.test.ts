import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseFormFields, parseSlackBody } from './parse-body.ts'

const NAMES = ['payload', 'command', 'text', 'ssl_check', 'a', 'a b', 'ä', '', 'missing']

function expectSameAsUrlSearchParams(raw: string): void {
  const ours = parseFormFields(raw)
  const reference = new URLSearchParams(raw)
  for (const name of NAMES) expect(ours.get(name), `${JSON.stringify(raw)} → ${name}`).toBe(reference.get(name))
}

describe('parseFormFields', () => {
  it('reads fields exactly as URLSearchParams does', () => {
    const payload = JSON.stringify({ type: 'block_actions', text: 'a+b & c=d 100% ✓ "quoted" \\ 😀' })
    const cases = [
      new URLSearchParams({ payload }).toString(),
      `payload=${encodeURIComponent(payload)}`,
      'command=%2Fgl&text=run+deploy+env%3Dprod&text=second',
      'a=1&a=2&&a+b=3&%C3%A4=4&=5&ssl_check=1',
      '?a=1&payload=x',
      'a',
      'a=&payload',
      '',
      '&&&',
      'a=%zz&payload=%E0%A4%A', // malformed escapes: URLSearchParams keeps them as they are
      'payload=%FF%FE&a=1', // not UTF-8: URLSearchParams replaces with U+FFFD
      'payload=%ED%A0%80', // an encoded lone surrogate
      'a=%2B%2b+%20',
      'payload=%EF%BB%BFx&a=%EF%BB%BF', // a leading byte order mark stays
      'payload=%C3%A4%e2%9c%93%F0%9F%98%80+ok',
      'payload=%', // a lone % at the end
      'payload=%4',
      'a=ä+ö&payload=✓%20', // raw non-ASCII characters
    ]
    for (const raw of cases) expectSameAsUrlSearchParams(raw)
  })

  it('agrees with URLSearchParams on random percent-encoded bytes', () => {
    for (let i = 0; i < 500; i++) {
      const bytes = randomBytes(1 + (i % 40))
      const escaped = [...bytes].map((b, j) =>
        j % 3 === 0 ? String.fromCharCode(32 + (b % 95)) : `%${b.toString(16)}`,
      )
      expectSameAsUrlSearchParams(`a=${escaped.join('')}&payload=${escaped.reverse().join('')}`)
    }
  })

  it('agrees with URLSearchParams on random text, escaped as Slack and as encodeURIComponent escape it', () => {
    const alphabet = ['a', 'Z', '0', ' ', '+', '&', '=', '%', '"', '{', '\uFEFF', 'ä', '✓', '😀', '\n', '~', '*']
    for (let i = 0; i < 300; i++) {
      const text = Array.from({ length: i % 50 }, (_, j) => alphabet[(i * 7 + j * 13) % alphabet.length]).join('')
      expectSameAsUrlSearchParams(new URLSearchParams({ payload: text, a: text.slice(3) }).toString())
      expectSameAsUrlSearchParams(`payload=${encodeURIComponent(text)}&a=${encodeURIComponent(text).toLowerCase()}`)
    }
  })

  it('parses an interactivity payload into the body Bolt dispatches on', () => {
    const body = { type: 'block_actions', user: { id: 'U1' }, actions: [{ action_id: 'gl_approve', value: 'a+b' }] }
    const parsed = parseSlackBody(
      new URLSearchParams({ payload: JSON.stringify(body) }).toString(),
      'application/x-www-form-urlencoded',
    )
    expect(parsed).toEqual({ kind: 'dispatch', body })
  })
})
