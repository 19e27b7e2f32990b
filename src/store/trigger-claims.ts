// Unique trigger records written in the transaction that creates a run: a schedule tick or a webhook delivery starts
// one run, whichever instance, retry or redelivery gets there first.
import { and, eq, lt } from 'drizzle-orm'
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
  const keys = deliveryKeys(claim)
  for (const [i, { key, windowMs }] of keys.entries()) {
    const outcome = await claimDeliveryKey(tx, flowSlug, key, runId, at, windowMs)
    if (outcome.claimed) continue
    // The caller commits a duplicate's transaction too, so keys this request did take must not outlive it.
    for (const earlier of keys.slice(0, i)) await deleteDeliveryKey(tx, flowSlug, earlier.key)
    return outcome
  }
  return { claimed: true }
}

/** Signed-message keys share `webhook_deliveries` with dedupe keys; a dedupe value cannot know a message's HMAC. */
const SIGNED_PREFIX = 'signed:'

type DeliveryClaim = Extract<TriggerClaim, { kind: 'webhook_delivery' }>

/** The dedupe key first: a redelivery is answered by it, and only it, as before signatures were remembered. */
function deliveryKeys(claim: DeliveryClaim): { key: string; windowMs: number | undefined }[] {
  return [
    ...(claim.dedupeKey === undefined ? [] : [{ key: claim.dedupeKey, windowMs: undefined }]),
    ...(claim.signed ? [{ key: `${SIGNED_PREFIX}${claim.signed.fingerprint}`, windowMs: claim.signed.windowMs }] : []),
  ]
}

/**
 * Inserts the key for `runId`, or takes over a row more than its window old (one statement, so two instances cannot
 * both take it); when the key is held, answers the run holding it.
 */
async function claimDeliveryKey(
  tx: Tx,
  flowSlug: string,
  dedupeKey: string,
  runId: string,
  at: number,
  windowMs: number | undefined,
): Promise<{ claimed: true } | { claimed: false; runId: string | null }> {
  const insert = tx.insert(webhookDeliveries).values({ flowSlug, dedupeKey, runId, createdAt: at })
  const inserted = await (windowMs === undefined
    ? insert.onConflictDoNothing()
    : insert.onConflictDoUpdate({
        target: [webhookDeliveries.flowSlug, webhookDeliveries.dedupeKey],
        set: { runId, createdAt: at },
        setWhere: lt(webhookDeliveries.createdAt, at - windowMs),
      })
  ).returning({ runId: webhookDeliveries.runId })
  if (inserted.length > 0) return { claimed: true }
  const first = await tx
    .select({ runId: webhookDeliveries.runId })
    .from(webhookDeliveries)
    .where(deliveryIs(flowSlug, dedupeKey))
    .get()
  return { claimed: false, runId: first?.runId ?? null }
}

async function deleteDeliveryKey(tx: Tx, flowSlug: string, dedupeKey: string): Promise<void> {
  await tx.delete(webhookDeliveries).where(deliveryIs(flowSlug, dedupeKey))
}

function deliveryIs(flowSlug: string, dedupeKey: string) {
  return and(eq(webhookDeliveries.flowSlug, flowSlug), eq(webhookDeliveries.dedupeKey, dedupeKey))
}

/**
 * The run was not created (concurrency `skip`): a tick stays consumed with no run, so it never fires again; a
 * delivery (its dedupe key and signed message) is forgotten, so a redelivery after the active run ends may start one.
 */
export async function releaseSkippedClaim(tx: Tx, flowSlug: string, claim: TriggerClaim): Promise<void> {
  if (claim.kind === 'schedule_tick') {
    await tx.update(scheduleTicks).set({ runId: null }).where(tickIs(flowSlug, claim))
    return
  }
  for (const { key } of deliveryKeys(claim)) await deleteDeliveryKey(tx, flowSlug, key)
}

function tickIs(flowSlug: string, claim: Extract<TriggerClaim, { kind: 'schedule_tick' }>) {
  return and(
    eq(scheduleTicks.flowSlug, flowSlug),
    eq(scheduleTicks.schedule, claim.schedule),
    eq(scheduleTicks.tickAt, claim.tickAt),
  )
}
