import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { open, seal } from './secret-box.ts'

describe('secret box', () => {
  const key = randomBytes(32)

  it('round-trips and never stores the plain value', () => {
    const sealed = seal(key, 'github_token', 'ghp_s3cr3t')
    expect(sealed.ciphertext.toString('utf8')).not.toContain('s3cr3t')
    expect(open(key, 'github_token', sealed)).toBe('ghp_s3cr3t')
  })

  it('refuses another key, another name and tampered bytes', () => {
    const sealed = seal(key, 'a', 'value')
    expect(open(randomBytes(32), 'a', sealed)).toBeUndefined()
    expect(open(key, 'b', sealed)).toBeUndefined()
    const flipped = Buffer.from(sealed.ciphertext)
    flipped[0] = (flipped[0] ?? 0) ^ 1
    expect(open(key, 'a', { ...sealed, ciphertext: flipped })).toBeUndefined()
  })

  it('uses a fresh nonce each time', () => {
    expect(seal(key, 'a', 'v').nonce.equals(seal(key, 'a', 'v').nonce)).toBe(false)
  })
})
