// Console sign-in: one-time links (10 minutes, used once), sessions behind an HttpOnly cookie (12 hours), and the
// CSRF token bound to each session. Only hashes of link and session secrets are stored.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { AppError } from '../errors.ts'

export const LINK_TTL_MS = 10 * 60_000
export const SESSION_TTL_MS = 12 * 60 * 60_000

/** Who a console session acts as. `actor` is what votes and records show (a Slack user id, or `token:<name>`). */
export interface ConsoleIdentity {
  actor: string
  slackUser: string | null
  tokenId: string | null
  tokenName: string | null
  scopes: string[]
}

export interface ConsoleSession extends ConsoleIdentity {
  expiresAt: number
}

/** Where links and sessions live (src/store/console-store.ts). */
export interface ConsoleGrantStore {
  insertLink(row: ConsoleIdentity & { secretHash: string; createdAt: number; expiresAt: number }): Promise<void>
  /** Marks the link used and returns it, only if it was unused and unexpired at `now`: one statement, so used once. */
  useLink(secretHash: string, now: number): Promise<ConsoleIdentity | undefined>
  /** Why a link could not be used: unknown, already used, or expired. */
  linkState(secretHash: string): Promise<{ usedAt: number | null; expiresAt: number } | undefined>
  insertSession(row: ConsoleIdentity & { secretHash: string; createdAt: number; expiresAt: number }): Promise<void>
  /** A live session: not ended, not expired, and its token (if any) not revoked. */
  session(secretHash: string, now: number): Promise<ConsoleSession | undefined>
  endSession(secretHash: string, now: number): Promise<void>
}

const LINK_PREFIX = 'gll_'
const SESSION_PREFIX = 'gls_'
const hash = (secret: string): string => createHash('sha256').update(secret).digest('hex')
const secretOf = (prefix: string): string => `${prefix}${randomBytes(32).toString('base64url')}`
const wellFormed = (prefix: string, secret: string): boolean =>
  secret.startsWith(prefix) && /^[A-Za-z0-9_-]{40,60}$/.test(secret.slice(prefix.length))

export function createConsoleSignIn(deps: {
  store: ConsoleGrantStore
  clock: { now(): number }
  /** The server's base URL (PUBLIC_URL, or where it listens). */
  publicUrl: () => string
  /** Keys the CSRF tokens: a token is an HMAC of the session secret, so nothing more is stored. */
  secretKey: Buffer
}) {
  const { store, clock } = deps
  const csrfKey = createHmac('sha256', deps.secretKey).update('greenlight console csrf').digest()

  return {
    /** A one-time sign-in URL for `identity`, valid 10 minutes. */
    async issueLink(identity: ConsoleIdentity): Promise<{ url: string; expiresAt: number }> {
      const secret = secretOf(LINK_PREFIX)
      const now = clock.now()
      const expiresAt = now + LINK_TTL_MS
      await store.insertLink({ ...identity, secretHash: hash(secret), createdAt: now, expiresAt })
      return { url: `${deps.publicUrl().replace(/\/+$/, '')}/ui/login/${secret}`, expiresAt }
    },

    /** Turns a link into a session (the link is spent); refuses a used, expired or unknown link with a clear code. */
    async redeem(linkSecret: string): Promise<{ sessionSecret: string; session: ConsoleSession }> {
      const now = clock.now()
      const identity = wellFormed(LINK_PREFIX, linkSecret) ? await store.useLink(hash(linkSecret), now) : undefined
      if (!identity) {
        const state = wellFormed(LINK_PREFIX, linkSecret) ? await store.linkState(hash(linkSecret)) : undefined
        const hint = "Ask for a new link: 'greenlight console login', or /gl console in Slack."
        if (state?.usedAt != null)
          throw new AppError('link_used', 'This sign-in link was already used; each link works once.', {
            status: 410,
            hint,
          })
        if (state)
          throw new AppError('link_expired', 'This sign-in link has expired (links last 10 minutes).', {
            status: 410,
            hint,
          })
        throw new AppError('link_invalid', 'This sign-in link is not valid.', { status: 404, hint })
      }
      const sessionSecret = secretOf(SESSION_PREFIX)
      const expiresAt = now + SESSION_TTL_MS
      await store.insertSession({ ...identity, secretHash: hash(sessionSecret), createdAt: now, expiresAt })
      return { sessionSecret, session: { ...identity, expiresAt } }
    },

    /** The live session a cookie names, or undefined (unknown, forged, expired, signed out, or its token revoked). */
    async session(sessionSecret: string | undefined): Promise<ConsoleSession | undefined> {
      if (!sessionSecret || !wellFormed(SESSION_PREFIX, sessionSecret)) return undefined
      return store.session(hash(sessionSecret), clock.now())
    },

    async signOut(sessionSecret: string): Promise<void> {
      if (wellFormed(SESSION_PREFIX, sessionSecret)) await store.endSession(hash(sessionSecret), clock.now())
    },

    csrfToken(sessionSecret: string): string {
      return createHmac('sha256', csrfKey).update(sessionSecret).digest('base64url')
    },

    csrfValid(sessionSecret: string, sent: unknown): boolean {
      if (typeof sent !== 'string' || sent.length > 100) return false
      const expected = Buffer.from(this.csrfToken(sessionSecret))
      const given = Buffer.from(sent)
      return given.length === expected.length && timingSafeEqual(given, expected)
    },
  }
}

export type ConsoleSignIn = ReturnType<typeof createConsoleSignIn>

/** What a Slack user signed in through `/gl console` may do: read runs (as Slack shows them) and vote as themselves. */
export function slackIdentity(slackUser: string): ConsoleIdentity {
  return { actor: slackUser, slackUser, tokenId: null, tokenName: null, scopes: ['runs:read', 'approvals:decide'] }
}
