// What transports may read of runs: the engine's one read door. Slack, the HTTP API and the console ask here and
// never hold the run store, so every write goes through the engine's services.
import type { RunEventRecord, RunRecord, RunStore, StepRunRecord, VoteRecord, WaitRecord } from './run-ports.ts'
import { createSearch, type SearchIndex } from './search.ts'

/** A run as `runs show` presents it: the run, its step results, and the wait it is parked on with its votes. */
export interface RunDetail {
  run: RunRecord
  steps: StepRunRecord[]
  wait: WaitRecord | null
  votes: VoteRecord[]
  /** Runs its `flow` steps started, oldest first. */
  children: RunRecord[]
}

export function createReads(store: RunStore, index: SearchIndex) {
  const { search } = createSearch(index)
  return {
    /** Full-text search over runs, events, resources and flow sources (`invalid_query` on a bad query). */
    search,
    run: (id: string) => store.getRun(id),
    events: (runId: string, afterSeq?: number): Promise<RunEventRecord[]> => store.events(runId, afterSeq),
    stepRuns: (runId: string) => store.stepRuns(runId),
    wait: (id: string) => store.getWait(id),
    waitAt: (runId: string, stepId: string, visit: number) => store.getWaitAt(runId, stepId, visit),
    votes: (waitId: string) => store.votes(waitId),
    listWaits: (query: Parameters<RunStore['listWaits']>[0]) => store.listWaits(query),

    /** The run's step results and, while it waits, the open wait and its votes. */
    async runDetail(run: RunRecord): Promise<RunDetail> {
      const waitId = run.status === 'waiting' ? run.waitingOn?.wait_id : undefined
      const [steps, wait, children] = await Promise.all([
        store.stepRuns(run.id),
        waitId ? store.getWait(waitId) : Promise.resolve(undefined),
        store.listRuns({ parent: run.id, limit: 200 }),
      ])
      return {
        run,
        steps,
        wait: wait ?? null,
        votes: wait ? await store.votes(wait.id) : [],
        children: children.reverse(),
      }
    },
  }
}

export type RunReads = ReturnType<typeof createReads>
