// Unique trigger records written in the transaction that creates a run: a schedule tick or a webhook delivery starts
// one run, whichever instance, retry or redelivery gets there first.
import { and, eq } from 'drizzle-orm'
import type { TriggerClaim } from '../engine/run-ports.ts'
import type { Tx } from './database.ts'
import { scheduleTicks, webhookDeliveries } from './schema.ts'

/** Records the claim for `runId`; when it already exists, answers the run that holds it (null: a tick that ran none). */
export async function claimTrigger(
  tx: Tx,
  flowSlug: string,
  claim: TriggerClaim,
  runId: string,
  at: number,
): Promise<{ claimed: true } | { claimed: false; runId: string | null }> {
  if (claim.kind === 'schedule_tick') {
    const inserted = await tx
      .insert(scheduleTicks)
      .values({ flowSlug, schedule: claim.schedule, tickAt: claim.tickAt, runId, createdAt: at })
      .onConflictDoNothing()
      .returning({ runId: scheduleTicks.runId })
    if (inserted.length > 0) return { claimed: true }
    const first = await tx
      .select({ runId: scheduleTicks.runId })
      .from(scheduleTicks)
      .where(tickIs(flowSlug, claim))
      .get()
    return { claimed: false, runId: first?.runId ?? null }
  }
  const inserted = await tx
    .insert(webhookDeliveries)
    .values({ flowSlug, dedupeKey: claim.dedupeKey, runId, createdAt: at })
    .onConflictDoNothing()
    .returning({ runId: webhookDeliveries.runId })
  if (inserted.length > 0) return { claimed: true }
  const first = await tx
    .select({ runId: webhookDeliveries.runId })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.flowSlug, flowSlug), eq(webhookDeliveries.dedupeKey, claim.dedupeKey)))
    .get()
  return { claimed: false, runId: first?.runId ?? null }
}

/**
 * The run was not created (concurrency `skip`): a tick stays consumed with no run, so it never fires again; a
 * delivery is forgotten, so a redelivery after the active run ends may start one.
 */
export async function releaseSkippedClaim(tx: Tx, flowSlug: string, claim: TriggerClaim): Promise<void> {
  if (claim.kind === 'schedule_tick') {
    await tx.update(scheduleTicks).set({ runId: null }).where(tickIs(flowSlug, claim))
    return
  }
  await tx
    .delete(webhookDeliveries)
    .where(and(eq(webhookDeliveries.flowSlug, flowSlug), eq(webhookDeliveries.dedupeKey, claim.dedupeKey)))
}

function tickIs(flowSlug: string, claim: Extract<TriggerClaim, { kind: 'schedule_tick' }>) {
  return and(
    eq(scheduleTicks.flowSlug, flowSlug),
    eq(scheduleTicks.schedule, claim.schedule),
    eq(scheduleTicks.tickAt, claim.tickAt),
  )
}
