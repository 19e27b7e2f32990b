// Content-addressed blobs (res://<sha256>): identical content is stored once.
import { createHash } from 'node:crypto'
import { and, desc, eq } from 'drizzle-orm'
import type { ResourceMeta, ResourceStore } from '../engine/resources.ts'
import type { Database } from './database.ts'
import { resources } from './schema.ts'

const meta = {
  id: resources.id,
  size: resources.size,
  mediaType: resources.mediaType,
  runId: resources.runId,
  createdAt: resources.createdAt,
}

export function createResourceStore(database: Database, now: () => number): ResourceStore {
  const { db } = database
  return {
    async put(content, mediaType, runId) {
      const id = createHash('sha256').update(content).digest('hex')
      await database.write((tx) =>
        tx
          .insert(resources)
          .values({ id, size: content.length, mediaType, content, runId, createdAt: now() })
          .onConflictDoNothing(),
      )
      return `res://${id}`
    },
    async get(id) {
      return db.select().from(resources).where(eq(resources.id, id)).get()
    },
    async list(query): Promise<ResourceMeta[]> {
      return db
        .select(meta)
        .from(resources)
        .where(and(query.runId ? eq(resources.runId, query.runId) : undefined))
        .orderBy(desc(resources.createdAt))
        .limit(query.limit)
        .all()
    },
  }
}
