// What follows every commit that changes a run, in one place: the Slack mirror hears of it, the run continues on
// this instance if the commit left it running (it took the lease in that transaction), and a queued run the commit
// started (its concurrency slot freed) is taken on too.
import type { EngineDeps } from './engine-deps.ts'
import type { CommitResult, Transition, TxView } from './run-ports.ts'

export type Resume = (runId: string, leased?: boolean) => void

/** Runs a commit leased to this instance besides its own: a child it created, parents its child's end resumed. */
export function alsoLeased(commit: CommitResult): string[] {
  return [...(commit.created ? [commit.created] : []), ...(commit.resumed ?? [])]
}

export function createSettle(deps: Pick<EngineDeps, 'store' | 'onRunChange'>, resume: Resume) {
  /** After `commit` of `transition`: nothing when it did not apply. */
  function settle(transition: Transition | null, commit: CommitResult | null | undefined): void {
    if (!transition || !commit?.ok) return
    deps.onRunChange?.(transition.runId)
    if (transition.run?.status === 'running') resume(transition.runId, true)
    if (commit.promoted) resume(commit.promoted)
    for (const id of alsoLeased(commit)) {
      deps.onRunChange?.(id)
      resume(id, true)
    }
  }

  return {
    settle,
    /** Commits one transition and settles it; the commit's result says whether it applied. */
    async commitAndContinue(transition: Transition): Promise<CommitResult> {
      const commit = await deps.store.commit(transition)
      settle(transition, commit)
      return commit
    },
    /** `store.transact`, then settles the transition it applied. */
    async transactAndContinue<T>(
      decide: (view: TxView) => Promise<{ transition: Transition | null; result: T }>,
    ): Promise<{ result: T; commit: CommitResult | null }> {
      let applied: Transition | null = null
      const outcome = await deps.store.transact(async (view) => {
        const decided = await decide(view)
        applied = decided.transition
        return decided
      })
      settle(applied, outcome.commit)
      return outcome
    },
  }
}

export type Settle = ReturnType<typeof createSettle>
