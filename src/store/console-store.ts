// Console links and sessions (src/console/sign-in.ts): hashes of their secrets and who they act as.
import { and, eq, gt, isNull, lt } from 'drizzle-orm'
import type { ConsoleGrantStore, ConsoleIdentity } from '../console/sign-in.ts'
import type { Database } from './database.ts'
import { consoleLinks, consoleSessions, tokens } from './schema.ts'

const identityOf = (row: {
  actor: string
  slackUser: string | null
  tokenId: string | null
  tokenName: string | null
  scopes: unknown
}): ConsoleIdentity => ({
  actor: row.actor,
  slackUser: row.slackUser,
  tokenId: row.tokenId,
  tokenName: row.tokenName,
  scopes: Array.isArray(row.scopes) ? (row.scopes as string[]) : [],
})

/** How long an expired link or session row stays before a new sign-in deletes it. */
const KEEP_MS = 24 * 60 * 60_000

export function createConsoleStore(database: Database): ConsoleGrantStore {
  const { db } = database
  return {
    async insertLink(row) {
      await database.write(async (tx) => {
        // Spent and expired links are kept a day (a replay still says 'already used'), then go with the next link.
        await tx.delete(consoleLinks).where(lt(consoleLinks.expiresAt, row.createdAt - KEEP_MS))
        await tx.insert(consoleLinks).values(row)
      })
    },
    async useLink(secretHash, now) {
      const used = await database.write((tx) =>
        tx
          .update(consoleLinks)
          .set({ usedAt: now })
          .where(
            and(eq(consoleLinks.secretHash, secretHash), isNull(consoleLinks.usedAt), gt(consoleLinks.expiresAt, now)),
          )
          .returning()
          .all(),
      )
      return used[0] ? identityOf(used[0]) : undefined
    },
    async linkState(secretHash) {
      const row = await db
        .select({ usedAt: consoleLinks.usedAt, expiresAt: consoleLinks.expiresAt })
        .from(consoleLinks)
        .where(eq(consoleLinks.secretHash, secretHash))
        .get()
      return row ?? undefined
    },
    async insertSession(row) {
      await database.write(async (tx) => {
        await tx.delete(consoleSessions).where(lt(consoleSessions.expiresAt, row.createdAt - KEEP_MS))
        await tx.insert(consoleSessions).values(row)
      })
    },
    async session(secretHash, now) {
      const row = await db
        .select({ session: consoleSessions, revokedAt: tokens.revokedAt })
        .from(consoleSessions)
        .leftJoin(tokens, eq(tokens.id, consoleSessions.tokenId))
        .where(
          and(
            eq(consoleSessions.secretHash, secretHash),
            isNull(consoleSessions.endedAt),
            gt(consoleSessions.expiresAt, now),
          ),
        )
        .get()
      if (!row || (row.session.tokenId !== null && row.revokedAt !== null)) return undefined
      return { ...identityOf(row.session), expiresAt: row.session.expiresAt }
    },
    async endSession(secretHash, now) {
      await database.write((tx) =>
        tx.update(consoleSessions).set({ endedAt: now }).where(eq(consoleSessions.secretHash, secretHash)),
      )
    },
  }
}
