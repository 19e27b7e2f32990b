// Audit of runs' event chains: verify one run where it is stored, or export runs as a file that verifies offline.
import { type ExportedRun, exportHeader, exportLine } from '../core/audit-export.ts'
import { deriveChainKey, PLAIN_CHAIN_NOTE, type StoredEvent, schemeOf, verifyChain } from '../core/hash-chain.ts'
import { AppError } from '../errors.ts'
import type { Clock } from './ports.ts'
import type { PrunedRun } from './retention.ts'
import type { RunRecord, RunStore } from './run-ports.ts'

/** An export is read into memory on both ends; past this many runs, ask for a narrower range. */
export const MAX_EXPORT_RUNS = 1000
const PAGE = 200

export interface ExportQuery {
  runIds?: string[]
  /** Runs created in [from, to), epoch ms. */
  from?: number
  to?: number
}

type HeadOf = RunRecord & { lastEventHash?: string }

export function createAudit(deps: {
  store: RunStore
  secretKey: Buffer
  clock: Clock
  requireRun: (id: string) => Promise<RunRecord>
  /** The retention ledger: a pruned run is reported `pruned` with the chain head kept there, never ok or tampered. */
  prunedRun?: ((id: string) => Promise<PrunedRun | undefined>) | undefined
}) {
  const { store } = deps
  const key = deriveChainKey(deps.secretKey)

  /** Newest first, by pages, until a run older than `from`; refuses more than an export may hold. */
  async function runsBetween(from: number, to: number): Promise<RunRecord[]> {
    const found: RunRecord[] = []
    let before: string | undefined
    for (;;) {
      const page = await store.listRuns({ limit: PAGE, ...(before ? { before } : {}) })
      found.push(...page.filter((r) => r.createdAt >= from && r.createdAt < to))
      if (found.length > MAX_EXPORT_RUNS) {
        throw new AppError('export_too_large', `More than ${MAX_EXPORT_RUNS} runs were started in that range.`, {
          status: 422,
          hint: 'Export a narrower range (--from/--to), or name the runs.',
        })
      }
      const last = page.at(-1)
      if (!last || page.length < PAGE || last.createdAt < from) return found.reverse()
      before = last.id
    }
  }

  /**
   * The run's events and the row that heads them. The row is read after the events, and events it counts that came
   * in meanwhile are read too: a live run's chain is never reported cut because it grew between two reads.
   */
  async function chainOf(id: string): Promise<{ run: HeadOf; events: StoredEvent[] }> {
    let events = await store.events(id)
    for (let round = 0; ; round++) {
      const run: HeadOf = await deps.requireRun(id)
      const more = run.eventCount > events.length && round < 5 ? await store.events(id, events.at(-1)?.seq ?? 0) : []
      if (more.length === 0) return { run, events }
      events = [...events, ...more]
    }
  }

  return {
    async verify(id: string) {
      let chain: Awaited<ReturnType<typeof chainOf>>
      try {
        chain = await chainOf(id)
      } catch (error) {
        const pruned =
          error instanceof AppError && error.code === 'run_not_found' ? await deps.prunedRun?.(id) : undefined
        if (!pruned) throw error
        // Its events are gone by design: nothing is left to check them against, so it is neither ok nor tampered.
        return {
          run_id: id,
          status: 'pruned' as const,
          ok: false,
          events: 0,
          problems: [],
          pruned: {
            at: new Date(pruned.prunedAt).toISOString(),
            flow: pruned.flowSlug,
            run_status: pruned.status,
            ended_at: new Date(pruned.endedAt).toISOString(),
            event_count: pruned.eventCount,
            last_hash: pruned.lastEventHash,
            ...(pruned.rootRunId ? { with_root: pruned.rootRunId } : {}),
          },
        }
      }
      const { run, events } = chain
      const report = verifyChain(key, events, { count: run.eventCount, lastHash: run.lastEventHash ?? '' })
      return {
        run_id: id,
        status: report.problems.length === 0 ? ('ok' as const) : ('tampered' as const),
        events: events.length,
        ok: report.problems.length === 0,
        scheme: report.scheme,
        ...(report.plainEvents > 0 ? { plain_events: report.plainEvents, note: PLAIN_CHAIN_NOTE } : {}),
        problems: report.problems.map(({ index: _, ...problem }) => problem),
      }
    },

    /** The JSON Lines text of the runs named, or created in the range, in that order; the header comes first. */
    async export(query: ExportQuery): Promise<{ text: string; runs: ExportedRun[] }> {
      const ids = query.runIds ?? []
      if (ids.length > MAX_EXPORT_RUNS)
        throw new AppError('export_too_large', `An export holds at most ${MAX_EXPORT_RUNS} runs.`, { status: 422 })
      const selected =
        ids.length > 0
          ? [...new Set(ids)]
          : (await runsBetween(query.from ?? 0, query.to ?? Number.MAX_SAFE_INTEGER)).map((r) => r.id)
      const lines: string[] = []
      const runs: ExportedRun[] = []
      for (const id of selected) {
        const { run, events } = await chainOf(id)
        lines.push(...events.map(exportLine))
        runs.push({
          run_id: run.id,
          events: run.eventCount,
          head: run.lastEventHash ?? '',
          scheme: events.some((e) => schemeOf(e.hash) !== 'hmac-sha256') ? 'sha256' : 'hmac-sha256',
        })
      }
      const header = exportHeader(key, runs, new Date(deps.clock.now()))
      return { text: `${[JSON.stringify(header), ...lines].join('\n')}\n`, runs }
    },
  }
}

export type Audit = ReturnType<typeof createAudit>
