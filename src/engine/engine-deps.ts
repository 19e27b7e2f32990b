// Everything the engine's parts share, wired once by main.ts.
import type { Logger } from 'pino'
import type { IdGenerator } from '../core/ids.ts'
import type { Redactor } from '../core/redact.ts'
import type { CompiledFlow } from './compiled-flow.ts'
import type { Clock } from './ports.ts'
import type { ResourceStore } from './resources.ts'
import type { RunRecord, RunStore } from './run-ports.ts'
import type { SearchIndex } from './search.ts'
import type { StepRunner } from './step-runner.ts'

export interface Directory {
  /** Members of these user groups and this channel; null when they cannot be resolved (Slack off). */
  members(usergroups: string[], channel: string | null): Promise<Set<string> | null>
  /** The channel of a run's thread (where it was started, the flow's, or the default); null with Slack off. */
  runChannel?(run: RunRecord, flow: CompiledFlow): string | null
}

export interface EngineDeps {
  store: RunStore
  resources: ResourceStore
  /** The full-text index the store keeps (reads.search). */
  search: SearchIndex
  flowOf(revisionId: number): Promise<CompiledFlow>
  runners: Map<string, StepRunner>
  clock: Clock
  ids: IdGenerator
  logger: Logger
  secretKey: Buffer
  /** Base of callback URLs; a function because with PORT=0 it is known only once the server listens. */
  publicUrl: () => string
  /** This instance's id; leases name it. */
  owner: string
  leaseMs: number
  /** Instance deaths in a row on one step before its run fails with `crashed_repeatedly` (default 3). */
  maxTakeovers?: number
  /** Events one run may record before it fails with `event_limit` (default 100,000). */
  maxRunEvents?: number
  resourceThresholdBytes: number
  directory: Directory
  /** Masks secret values; the store masks what it writes, this keeps the in-memory scope the same as after a restart. */
  redactor?: Redactor
  /** Called after a commit that may interest listeners (Slack, `runs start --wait`). */
  onRunChange?: (runId: string) => void
  /**
   * Continues, on this instance, runs a commit leased to it besides the one it committed for: a child run a `flow`
   * step created, a parent its child's end resumed. Set by the engine once its scheduler exists.
   */
  wake?: (runIds: readonly string[]) => void
}
