import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { signCallbackToken, verifyCallbackToken } from './callback-token.ts'

const key = randomBytes(32)
const target = { runId: 'run_01JABCDEFGHJKMNPQRSTVWXYZ0', stepId: 'agent_done', visit: 2 }

describe('callback tokens', () => {
  it('round-trips a genuine token', () => {
    expect(verifyCallbackToken(key, signCallbackToken(key, target))).toEqual(target)
  })

  it('rejects forged, altered and foreign-key tokens', () => {
    const token = signCallbackToken(key, target)
    const [payload, sig] = token.split('.') as [string, string]
    const other = Buffer.from(`${target.runId}:agent_done:3`).toString('base64url')
    expect(verifyCallbackToken(key, `${other}.${sig}`)).toBeUndefined()
    expect(verifyCallbackToken(key, `${payload}.${sig.slice(0, -2)}AA`)).toBeUndefined()
    expect(verifyCallbackToken(randomBytes(32), token)).toBeUndefined()
    for (const junk of ['', '.', 'abc', `${payload}.`, '.x', 'a.b.c', '\u0000.\u0000'])
      expect(verifyCallbackToken(key, junk)).toBeUndefined()
  })

  it('never throws on random input', () => {
    for (let i = 0; i < 500; i++) {
      const junk = randomBytes(Math.floor(Math.random() * 80)).toString(i % 2 ? 'base64url' : 'latin1')
      expect(verifyCallbackToken(key, i % 3 ? junk : `${junk}.${junk}`)).toBeUndefined()
    }
  })
})
