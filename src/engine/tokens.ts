// API tokens: creation (the secret is shown once), authentication, revocation.
import { createHash, randomBytes } from 'node:crypto'
import type { IdGenerator } from '../core/ids.ts'
import { isScope, SCOPES, type Scope } from '../core/scopes.ts'
import { AppError, notFound } from '../errors.ts'
import type { Clock, TokenRecord, TokenRepository } from './ports.ts'

export interface Principal {
  tokenId: string
  name: string
  scopes: string[]
  /** The Slack user this token votes as, when created `--as`. */
  asUser: string | null
}

export interface TokenView {
  id: string
  name: string
  scopes: string[]
  as_user: string | null
  created_at: string
  last_used_at: string | null
  revoked: boolean
}

const TOKEN_PREFIX = 'glt_'
const TOUCH_EVERY_MS = 60_000

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex')

export function tokenView(row: TokenRecord): TokenView {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as string[],
    as_user: row.asUser,
    created_at: new Date(row.createdAt).toISOString(),
    last_used_at: row.lastUsedAt === null ? null : new Date(row.lastUsedAt).toISOString(),
    revoked: row.revokedAt !== null,
  }
}

export function createTokens(deps: { tokens: TokenRepository; ids: IdGenerator; clock: Clock }) {
  const { tokens, ids, clock } = deps
  const lastTouched = new Map<string, number>()

  return {
    async create(input: { name: string; scopes: string[]; asUser?: string | null; createdBy?: string | null }) {
      const unknown = input.scopes.filter((s) => !isScope(s))
      if (input.scopes.length === 0 || unknown.length > 0) {
        throw new AppError(
          'invalid_scope',
          unknown.length > 0 ? `Unknown scope(s): ${unknown.join(', ')}.` : 'No scope given.',
          {
            hint: `Scopes: ${SCOPES.join(', ')}.`,
            details: { unknown },
          },
        )
      }
      if (!/^[\w.@:-]{1,64}$/.test(input.name)) {
        throw new AppError('invalid_name', `'${input.name}' is not a valid token name.`, {
          hint: 'Use 1–64 letters, digits, and . _ - @ :',
        })
      }
      if (input.asUser != null && !/^[UW][A-Z0-9]{2,}$/.test(input.asUser)) {
        throw new AppError('invalid_user', `'${input.asUser}' is not a Slack user id.`, {
          hint: 'Use an id such as U012ABCDEF.',
        })
      }
      const secret = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
      const row = await tokens.insert({
        id: ids.next('tok'),
        name: input.name,
        tokenHash: hashToken(secret),
        scopes: [...new Set(input.scopes)] as Scope[],
        asUser: input.asUser ?? null,
        createdBy: input.createdBy ?? null,
        createdAt: clock.now(),
      })
      return { token: secret, record: tokenView(row) }
    },

    async authenticate(secret: string): Promise<Principal | undefined> {
      if (!secret.startsWith(TOKEN_PREFIX) || secret.length > 200) return undefined
      const row = await tokens.findByHash(hashToken(secret))
      if (!row || row.revokedAt !== null) return undefined
      const now = clock.now()
      if (now - (lastTouched.get(row.id) ?? 0) > TOUCH_EVERY_MS) {
        lastTouched.set(row.id, now)
        await tokens.touch(row.id, now)
      }
      return { tokenId: row.id, name: row.name, scopes: row.scopes as string[], asUser: row.asUser }
    },

    async list(): Promise<TokenView[]> {
      return (await tokens.list()).map(tokenView)
    },

    async revoke(ref: string): Promise<TokenView> {
      const matches = await tokens.findByIdOrName(ref)
      const active = matches.filter((t) => t.revokedAt === null)
      const target = active.length === 1 ? active[0] : matches.length === 1 ? matches[0] : undefined
      if (!target) {
        if (matches.length > 1) {
          throw new AppError('ambiguous_token', `${matches.length} tokens are named '${ref}'.`, {
            hint: "Revoke by id; 'greenlight tokens list' shows them.",
          })
        }
        throw notFound('token_not_found', `No token with id or name '${ref}'.`, {
          hint: "Run 'greenlight tokens list'.",
        })
      }
      if (target.revokedAt === null) await tokens.revoke(target.id, clock.now())
      return { ...tokenView(target), revoked: true }
    },

    async isActive(secret: string): Promise<boolean> {
      const row = await tokens.findByHash(hashToken(secret))
      return row !== undefined && row.revokedAt === null
    },
  }
}

export type Tokens = ReturnType<typeof createTokens>
