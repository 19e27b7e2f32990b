// The step runners this server has, by kind.
import type { StepRunner } from '../engine/step-runner.ts'
import { kvEffect } from '../store/kv-store.ts'
import { approvalRunner } from './approval.ts'
import { createHttpRunner, type HttpRunnerDeps } from './http.ts'
import { inputRunner } from './input.ts'
import { jobRunner } from './job.ts'
import { createKvRunner } from './kv.ts'
import { notifyRunner } from './notify.ts'
import { sleepRunner } from './sleep.ts'
import { createSshRunner, type SshRunnerDeps } from './ssh.ts'
import { transformRunner } from './transform.ts'
import { waitRunner } from './wait.ts'

export function createRunners(deps: HttpRunnerDeps & SshRunnerDeps): Map<string, StepRunner> {
  const runners: StepRunner[] = [
    createHttpRunner(deps),
    createSshRunner(deps),
    transformRunner,
    notifyRunner,
    sleepRunner,
    createKvRunner(kvEffect),
    waitRunner,
    approvalRunner,
    inputRunner,
    jobRunner,
  ]
  return new Map(runners.map((r) => [r.kind, r]))
}
