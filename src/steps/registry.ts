// The step runners this server has, by kind.
import type { KvEffect, StepRunner } from '../engine/step-runner.ts'
import { approvalRunner } from './approval.ts'
import { createDbRunner, type DbRunnerDeps } from './db.ts'
import { createHttpRunner, type HttpRunnerDeps } from './http.ts'
import { inputRunner } from './input.ts'
import { jobRunner } from './job.ts'
import { createKvRunner } from './kv.ts'
import { createLlmRunner } from './llm.ts'
import { notifyRunner } from './notify.ts'
import { createSearchRunner, type SearchRunnerDeps } from './search.ts'
import { sleepRunner } from './sleep.ts'
import { createSshRunner, type SshRunnerDeps } from './ssh.ts'
import { transformRunner } from './transform.ts'
import { waitRunner } from './wait.ts'

export interface RunnerDeps extends HttpRunnerDeps, SshRunnerDeps, DbRunnerDeps, SearchRunnerDeps {
  /** Applies a kv step's operation inside its commit transaction (the store's, wired in main.ts). */
  kv: KvEffect
}

export function createRunners(deps: RunnerDeps): Map<string, StepRunner> {
  const runners: StepRunner[] = [
    createHttpRunner(deps),
    createSshRunner(deps),
    transformRunner,
    notifyRunner,
    sleepRunner,
    createKvRunner(deps.kv),
    createDbRunner(deps),
    waitRunner,
    approvalRunner,
    inputRunner,
    jobRunner,
    createLlmRunner(deps),
    createSearchRunner(deps),
  ]
  return new Map(runners.map((r) => [r.kind, r]))
}
