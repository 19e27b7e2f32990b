// Named connections (ssh, http) that flows reference instead of raw credentials.
import { asc, eq, inArray } from 'drizzle-orm'
import type { ConnectionRecord, ConnectionRepository } from '../engine/connections.ts'
import type { ConnectionLookup } from '../engine/ports.ts'
import type { Database } from './database.ts'
import { connections } from './schema.ts'

export type ConnectionRow = typeof connections.$inferSelect

export function createConnectionRepository(database: Database): ConnectionLookup & ConnectionRepository {
  const { db } = database
  return {
    async missing(names) {
      if (names.length === 0) return []
      const found = await db
        .select({ name: connections.name })
        .from(connections)
        .where(inArray(connections.name, [...names]))
        .all()
      const present = new Set(found.map((r) => r.name))
      return names.filter((n) => !present.has(n))
    },
    async list(): Promise<ConnectionRecord[]> {
      return db.select().from(connections).orderBy(asc(connections.name)).all()
    },
    async get(name: string): Promise<ConnectionRecord | undefined> {
      return db.select().from(connections).where(eq(connections.name, name)).get()
    },
    async put(record: ConnectionRecord) {
      await database.write((tx) =>
        tx
          .insert(connections)
          .values(record)
          .onConflictDoUpdate({
            target: connections.name,
            set: { type: record.type, config: record.config, updatedAt: record.updatedAt },
          }),
      )
    },
    async delete(name: string) {
      const removed = await database.write((tx) =>
        tx.delete(connections).where(eq(connections.name, name)).returning({ name: connections.name }),
      )
      return removed.length > 0
    },
  }
}
