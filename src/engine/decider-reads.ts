// What a token holding approvals:decide without runs:read may read: the approvals it decides, each approval's run,
// and the resources an approval shows. A voter must see what it votes on; it is not thereby a reader of every run.
import type { RunStore, WaitRecord } from './run-ports.ts'

/** Approvals of one run looked at, at most: a flow with more approval visits than this is not a real case. */
const MAX_APPROVALS_PER_RUN = 500

/** Whether `ref` is in what an approval shows: its message, its diff and its attachments (the digest's input). */
export function approvalShows(wait: WaitRecord, ref: string): boolean {
  if (wait.kind !== 'approval' || wait.spec === null) return false
  const { message, diff, attachments } = wait.spec
  return JSON.stringify([message ?? null, diff ?? null, attachments ?? null]).includes(ref)
}

export function createDeciderReads(deps: { store: Pick<RunStore, 'listWaits'> }) {
  const approvalsOf = (runId: string) => deps.store.listWaits({ runId, kind: 'approval', limit: MAX_APPROVALS_PER_RUN })

  return {
    /** A run with at least one approval (open or decided): its voters may read it. */
    async mayReadRun(runId: string): Promise<boolean> {
      return (await approvalsOf(runId)).length > 0
    },

    /**
     * A resource that an approval shows. Bytes are stored once by content, so the approval that shows them may
     * belong to a later run than the one that stored them first: the storing run's approvals are asked, then every
     * open approval.
     */
    async mayReadResource(id: string, storedBy: string | null): Promise<boolean> {
      const ref = `res://${id}`
      if (storedBy !== null && (await approvalsOf(storedBy)).some((w) => approvalShows(w, ref))) return true
      const open = await deps.store.listWaits({ kind: 'approval', status: ['open'], limit: MAX_APPROVALS_PER_RUN })
      return open.some((w) => approvalShows(w, ref))
    },
  }
}

export type DeciderReads = ReturnType<typeof createDeciderReads>
