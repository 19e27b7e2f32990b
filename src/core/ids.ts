// Branded ids and their generation: time-ordered, prefixed (run_01J…), random enough to be unguessable.
import { randomBytes } from 'node:crypto'

declare const brand: unique symbol
export type Brand<T, B extends string> = T & { readonly [brand]: B }

export type RunId = Brand<string, 'RunId'>
export type FlowSlug = Brand<string, 'FlowSlug'>
export type WaitId = Brand<string, 'WaitId'>
export type TokenId = Brand<string, 'TokenId'>

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** A ULID (48-bit time, 80-bit randomness) in Crockford base32. */
export function ulid(now: number, random: (n: number) => Buffer = randomBytes): string {
  let time = ''
  let t = now
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time
    t = Math.floor(t / 32)
  }
  const bytes = random(10)
  let bits = 0
  let value = 0
  let rand = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      rand += CROCKFORD[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return time + rand
}

export type IdPrefix = 'run' | 'wait' | 'tok' | 'evt' | 'job' | 'inst'

export interface IdGenerator {
  next<P extends IdPrefix>(prefix: P): `${P}_${string}`
}

export function createIdGenerator(now: () => number = Date.now): IdGenerator {
  return { next: (prefix) => `${prefix}_${ulid(now())}` as const }
}

/** Slugs follow SPEC §2: lower-case, starting with a letter. */
export const SLUG_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/

export function isSlug(value: string): value is FlowSlug {
  return SLUG_PATTERN.test(value)
}
