// First-start chores of `greenlight serve`: the data directory, the secret key and the local CLI token.
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { Tokens } from './engine/tokens.ts'
import { AppError } from './errors.ts'

export function ensureDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true })
}

/** GREENLIGHT_SECRET_KEY when set; else data/secret.key, generated (0600) on first start with a warning. */
export function loadSecretKey(fromEnv: Buffer | undefined, dataDir: string, logger: Logger): Buffer {
  if (fromEnv) return fromEnv
  const path = join(dataDir, 'secret.key')
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')
    if (key.length !== 32) {
      throw new AppError('invalid_secret_key', `${path} does not hold a 32-byte base64 key.`, {
        hint: 'Restore the file from backup, or set GREENLIGHT_SECRET_KEY. A new key cannot read existing secrets.',
      })
    }
    return key
  }
  const key = randomBytes(32)
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
  logger.warn({ path }, 'generated a new secret key; back it up, or set GREENLIGHT_SECRET_KEY in production')
  return key
}

/** Keeps data/cli-token valid for this database, so the CLI on this machine needs no setup. */
export async function ensureCliToken(tokens: Tokens, dataDir: string): Promise<string> {
  const path = join(dataDir, 'cli-token')
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8').trim()
    if (await tokens.isActive(existing)) return path
  }
  const { token } = await tokens.create({ name: 'local-admin', scopes: ['admin'], createdBy: 'greenlight serve' })
  writeFileSync(path, `${token}\n`, { mode: 0o600 })
  chmodSync(path, 0o600)
  return path
}
