// API tokens: only the sha256 of a token is stored.
import { asc, eq, or } from 'drizzle-orm'
import type { TokenRepository } from '../engine/ports.ts'
import type { Database } from './database.ts'
import { tokens } from './schema.ts'
import { tableCodec } from './sql-table.ts'

const tokenTable = tableCodec(tokens)
/** Every API request looks its token up: plain SQL on a cached statement. */
const BY_HASH = `${tokenTable.select} WHERE token_hash = ?`

export type TokenRow = typeof tokens.$inferSelect

export function createTokenRepository(database: Database): TokenRepository {
  const { db } = database
  return {
    async insert(row: typeof tokens.$inferInsert): Promise<TokenRow> {
      return database.write((tx) => tx.insert(tokens).values(row).returning().get())
    },
    async findByHash(hash: string): Promise<TokenRow | undefined> {
      const row = await database.sql.row(BY_HASH, [hash])
      return row ? tokenTable.decodeRow(row) : undefined
    },
    async list(): Promise<TokenRow[]> {
      return db.select().from(tokens).orderBy(asc(tokens.createdAt)).all()
    },
    async findByIdOrName(ref: string): Promise<TokenRow[]> {
      return db
        .select()
        .from(tokens)
        .where(or(eq(tokens.id, ref), eq(tokens.name, ref)))
        .all()
    },
    async revoke(id: string, at: number): Promise<void> {
      await database.write((tx) => tx.update(tokens).set({ revokedAt: at }).where(eq(tokens.id, id)))
    },
    async touch(id: string, at: number): Promise<void> {
      await database.write((tx) => tx.update(tokens).set({ lastUsedAt: at }).where(eq(tokens.id, id)))
    },
  }
}
