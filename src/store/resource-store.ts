// Content-addressed blobs (res://<sha256>): identical content is stored once.
import { createHash } from 'node:crypto'
import { desc, eq } from 'drizzle-orm'
import type { ResourceMeta, ResourceStore } from '../engine/resources.ts'
import type { Database } from './database.ts'
import { resourceRuns, resources } from './schema.ts'

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
      const at = now()
      await database.write(async (tx) => {
        await tx
          .insert(resources)
          .values({ id, size: content.length, mediaType, content, runId, createdAt: at })
          .onConflictDoNothing()
        // Stored once by content, but listed for every run that stored it.
        if (runId !== null)
          await tx.insert(resourceRuns).values({ resourceId: id, runId, createdAt: at }).onConflictDoNothing()
      })
      return `res://${id}`
    },
    async get(id) {
      return db.select().from(resources).where(eq(resources.id, id)).get()
    },
    async list(query): Promise<ResourceMeta[]> {
      if (query.runId === undefined)
        return db.select(meta).from(resources).orderBy(desc(resources.createdAt)).limit(query.limit).all()
      // A run's resources: all it used, also those another run stored first; each named as this run's.
      return db
        .select({ ...meta, runId: resourceRuns.runId, createdAt: resourceRuns.createdAt })
        .from(resourceRuns)
        .innerJoin(resources, eq(resources.id, resourceRuns.resourceId))
        .where(eq(resourceRuns.runId, query.runId))
        .orderBy(desc(resourceRuns.createdAt))
        .limit(query.limit)
        .all()
    },
  }
}
