// Secrets: set (sealed with AES-256-GCM under the instance key), list names, delete, and resolve for steps.
import { MIN_SECRET_LENGTH, type Redactor } from '../core/redact.ts'
import { open, seal } from '../core/secret-box.ts'
import { AppError, notFound } from '../errors.ts'
import type { Clock } from './ports.ts'

export interface SecretRecord {
  name: string
  nonce: Buffer
  ciphertext: Buffer
  tag: Buffer
  createdAt: number
  updatedAt: number
}

export interface SecretRepository {
  put(record: SecretRecord): Promise<void>
  get(name: string): Promise<SecretRecord | undefined>
  list(): Promise<{ name: string; createdAt: number; updatedAt: number }[]>
  delete(name: string): Promise<boolean>
}

const NAME = /^[a-z][a-z0-9_.-]{0,62}$/
const MAX_VALUE_BYTES = 64 * 1024

/** Counted in characters (code points), as a person reads the value, not in bytes. */
const tooShort = (value: string) => [...value].length < MIN_SECRET_LENGTH

export function createSecrets(deps: { secrets: SecretRepository; key: Buffer; clock: Clock; redactor?: Redactor }) {
  const { secrets, key, clock, redactor } = deps

  function checkName(name: string): void {
    if (!NAME.test(name)) {
      throw new AppError('invalid_name', `'${name}' is not a valid secret name.`, {
        hint: 'Use lower-case letters, digits and _ . - (up to 63), starting with a letter.',
      })
    }
  }

  return {
    async set(name: string, value: string): Promise<{ name: string; created: boolean }> {
      checkName(name)
      if (value === '' || Buffer.byteLength(value) > MAX_VALUE_BYTES) {
        throw new AppError('invalid_value', `A secret value must be 1 to ${MAX_VALUE_BYTES} bytes.`)
      }
      if (tooShort(value)) {
        throw new AppError(
          'secret_too_short',
          `A secret value must be at least ${MIN_SECRET_LENGTH} characters: a shorter one cannot be masked safely ` +
            '(masking it everywhere it appears would mangle every output, and not masking it would leak it).',
          {
            hint: 'Use a longer, random value, e.g. openssl rand -hex 16.',
            details: { min_length: MIN_SECRET_LENGTH },
          },
        )
      }
      const existing = await secrets.get(name)
      const now = clock.now()
      await secrets.put({ name, ...seal(key, name, value), createdAt: existing?.createdAt ?? now, updatedAt: now })
      redactor?.add(value)
      return { name, created: existing === undefined }
    },

    list: () => secrets.list(),

    async delete(name: string): Promise<void> {
      if (!(await secrets.delete(name))) {
        throw notFound('secret_not_found', `No secret named '${name}'.`, { hint: "Run 'greenlight secrets list'." })
      }
    },

    /** The clear value, for steps and connections; never returned by the API. */
    async reveal(name: string): Promise<string> {
      const record = await secrets.get(name)
      if (!record) throw notFound('secret_not_found', `No secret named '${name}'.`)
      const value = open(key, name, record)
      if (value === undefined) {
        throw new AppError('secret_unreadable', `Secret '${name}' cannot be decrypted with this instance's key.`, {
          status: 500,
          hint: 'Restore data/secret.key (or GREENLIGHT_SECRET_KEY) from backup, or set the secret again.',
        })
      }
      redactor?.add(value)
      return value
    },

    /**
     * Teaches the redactor every stored value, so records and logs are masked from the first line after a start.
     * Returns the names of values too short for today's rule (stored by an older version): they still work and are
     * masked as written, but not in other cases or encodings, so the caller warns about them.
     */
    async primeRedactor(): Promise<{ tooShort: string[] }> {
      const short: string[] = []
      for (const { name } of await secrets.list()) {
        const record = await secrets.get(name)
        const value = record ? open(key, name, record) : undefined
        if (value === undefined) continue
        redactor?.add(value)
        if (tooShort(value)) short.push(name)
      }
      return { tooShort: short }
    },
  }
}

export type Secrets = ReturnType<typeof createSecrets>
