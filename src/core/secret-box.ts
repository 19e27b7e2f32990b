// AES-256-GCM for secrets at rest: a fresh 96-bit nonce per value, the secret's name bound as associated data.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

export interface Sealed {
  nonce: Buffer
  ciphertext: Buffer
  tag: Buffer
}

export function seal(key: Buffer, name: string, value: string): Sealed {
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(Buffer.from(`greenlight-secret:${name}`))
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()])
  return { nonce, ciphertext, tag: cipher.getAuthTag() }
}

/** The value, or undefined when the key, the name or the bytes do not match (tampered or another key). */
export function open(key: Buffer, name: string, sealed: Sealed): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce)
    decipher.setAAD(Buffer.from(`greenlight-secret:${name}`))
    decipher.setAuthTag(sealed.tag)
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8')
  } catch {
    return undefined
  }
}
