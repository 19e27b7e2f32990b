// Named connections (ssh, http) that flows reference instead of raw credentials.
import { asc, eq, inArray } from 'drizzle-orm'
import type { ConnectionLookup } from '../engine/ports.ts'
import type { Database } from './database.ts'
import { connections } from './schema.ts'

export type ConnectionRow = typeof connections.$inferSelect

export function createConnectionRepository(database: Database) {
  const { db } = database
  const lookup: ConnectionLookup = {
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
  }
  return {
    ...lookup,
    async list(): Promise<ConnectionRow[]> {
      return db.select().from(connections).orderBy(asc(connections.name)).all()
    },
    async get(name: string): Promise<ConnectionRow | undefined> {
      return db.select().from(connections).where(eq(connections.name, name)).get()
    },
  }
}
