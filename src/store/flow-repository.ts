// Flows and their immutable revisions.
import { and, asc, desc, eq, max } from 'drizzle-orm'
import type { FlowRecord, FlowRepository, NewRevision, RevisionRecord } from '../engine/ports.ts'
import { conflict } from '../errors.ts'
import type { Database } from './database.ts'
import { flowRevisions, flows } from './schema.ts'
import { tableCodec } from './sql-table.ts'

// Every run start reads its flow and live revision: plain SQL on cached statements, not a query built per call.
const flowTable = tableCodec(flows)
const revisionTable = tableCodec(flowRevisions)
const FLOW_BY_SLUG = `${flowTable.select} WHERE slug = ?`
const REVISION_BY_VERSION = `${revisionTable.select} WHERE flow_slug = ? AND version = ?`

export function createFlowRepository(database: Database): FlowRepository {
  const { db, sql } = database
  const toRevision = (row: typeof flowRevisions.$inferSelect): RevisionRecord => row

  return {
    pushRevision: (input: NewRevision) =>
      database.write(async (tx) => {
        const existing = await tx
          .select()
          .from(flowRevisions)
          .where(and(eq(flowRevisions.flowSlug, input.slug), eq(flowRevisions.contentHash, input.contentHash)))
          .get()
        let revision: RevisionRecord
        let created = false
        if (existing) {
          revision = toRevision(existing)
        } else {
          const last = await tx
            .select({ n: max(flowRevisions.number) })
            .from(flowRevisions)
            .where(eq(flowRevisions.flowSlug, input.slug))
            .get()
          const inserted = await tx
            .insert(flowRevisions)
            .values({
              flowSlug: input.slug,
              number: (last?.n ?? 0) + 1,
              contentHash: input.contentHash,
              source: input.source,
              definition: input.definition,
              createdBy: input.createdBy,
              createdAt: input.at,
            })
            .returning()
            .get()
          revision = toRevision(inserted)
          created = true
        }
        await tx
          .insert(flows)
          .values({
            slug: input.slug,
            name: input.name,
            description: input.description,
            draftRevision: revision.number,
            createdAt: input.at,
            updatedAt: input.at,
          })
          .onConflictDoUpdate({
            target: flows.slug,
            set: {
              name: input.name,
              description: input.description,
              draftRevision: revision.number,
              updatedAt: input.at,
            },
          })
        return { revision, created }
      }),

    list: async () => db.select().from(flows).orderBy(asc(flows.slug)).all() as Promise<FlowRecord[]>,

    get: async (slug) => {
      const row = await sql.row(FLOW_BY_SLUG, [slug])
      return row ? (flowTable.decodeRow(row) as FlowRecord) : undefined
    },

    revisions: async (slug) =>
      db.select().from(flowRevisions).where(eq(flowRevisions.flowSlug, slug)).orderBy(desc(flowRevisions.number)).all(),

    revisionByNumber: async (slug, number) =>
      db
        .select()
        .from(flowRevisions)
        .where(and(eq(flowRevisions.flowSlug, slug), eq(flowRevisions.number, number)))
        .get(),

    revisionByVersion: async (slug, version) => {
      const row = await sql.row(REVISION_BY_VERSION, [slug, version])
      return row ? toRevision(revisionTable.decodeRow(row)) : undefined
    },

    revisionById: async (id) => db.select().from(flowRevisions).where(eq(flowRevisions.id, id)).get(),

    release: (slug, revisionNumber, by, note, at, promote) =>
      database.write(async (tx) => {
        const target = await tx
          .select({ version: flowRevisions.version })
          .from(flowRevisions)
          .where(and(eq(flowRevisions.flowSlug, slug), eq(flowRevisions.number, revisionNumber)))
          .get()
        if (target?.version != null) {
          throw conflict(
            'already_released',
            `Revision ${revisionNumber} of '${slug}' is already version ${target.version}.`,
            {
              hint: `Run 'greenlight flows promote ${slug} ${target.version}' to make it live.`,
              details: { version: target.version },
            },
          )
        }
        const last = await tx
          .select({ v: max(flowRevisions.version) })
          .from(flowRevisions)
          .where(eq(flowRevisions.flowSlug, slug))
          .get()
        const version = (last?.v ?? 0) + 1
        const released = await tx
          .update(flowRevisions)
          .set({ version, note, releasedBy: by, releasedAt: at })
          .where(and(eq(flowRevisions.flowSlug, slug), eq(flowRevisions.number, revisionNumber)))
          .returning()
          .get()
        if (!released) throw new Error(`revision ${slug}#${revisionNumber} vanished during release`)
        if (promote) await tx.update(flows).set({ liveVersion: version, updatedAt: at }).where(eq(flows.slug, slug))
        return released
      }),

    setLive: async (slug, version, at) => {
      await database.write((tx) =>
        tx.update(flows).set({ liveVersion: version, updatedAt: at }).where(eq(flows.slug, slug)),
      )
    },
  }
}
