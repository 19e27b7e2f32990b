// The step runners this server has, by kind.
import type { StepRunner } from '../engine/step-runner.ts'
import { AppError } from '../errors.ts'
import { kvEffect } from '../store/kv-store.ts'
import { approvalRunner } from './approval.ts'
import { createHttpRunner, type HttpConnection, type HttpRunnerDeps } from './http.ts'
import { inputRunner } from './input.ts'
import { jobRunner } from './job.ts'
import { createKvRunner } from './kv.ts'
import { notifyRunner } from './notify.ts'
import { sleepRunner } from './sleep.ts'
import { transformRunner } from './transform.ts'
import { waitRunner } from './wait.ts'

export function createRunners(deps: HttpRunnerDeps): Map<string, StepRunner> {
  const runners: StepRunner[] = [
    createHttpRunner(deps),
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

/** An http connection's base URL and static headers. */
export async function httpConnection(
  repository: { get(name: string): Promise<{ type: string; config: unknown } | undefined> },
  name: string,
): Promise<HttpConnection> {
  const row = await repository.get(name)
  if (row?.type !== 'http') {
    throw new AppError('connection_not_found', `No http connection named '${name}'.`, {
      hint: "Run 'greenlight connections list'.",
    })
  }
  const config = row.config as { base_url?: string; headers?: Record<string, string> }
  return { baseUrl: config.base_url ?? '', headers: config.headers ?? {} }
}
