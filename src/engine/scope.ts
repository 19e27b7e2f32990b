// The expression scope of a run: inputs, step outputs, run facts and callback URLs (never the environment).
import { signCallbackToken } from '../core/callback-token.ts'
import type { Cursor } from '../core/run-status.ts'
import type { CompiledFlow } from './compiled-flow.ts'
import type { RunRecord, StepRunRecord } from './run-ports.ts'

export function latestOutputs(stepRuns: readonly StepRunRecord[]): Map<string, unknown> {
  const latest = new Map<string, StepRunRecord>()
  for (const s of stepRuns) {
    const seen = latest.get(s.stepId)
    if (!seen || s.visit >= seen.visit) latest.set(s.stepId, s)
  }
  return new Map([...latest].map(([id, s]) => [id, s.output]))
}

/** The visit a callback URL handed out now will complete: the current one for the current step, else the next. */
export function callbackVisit(cursor: Cursor, stepId: string): number {
  return cursor.step === stepId ? cursor.visit : (cursor.visits[stepId] ?? 0) + 1
}

export function callbackUrl(publicUrl: string, key: Buffer, runId: string, stepId: string, visit: number): string {
  return `${publicUrl}/callbacks/${signCallbackToken(key, { runId, stepId, visit })}`
}

export function buildScope(
  run: RunRecord,
  flow: CompiledFlow,
  outputs: Map<string, unknown>,
  urls: { publicUrl: string; key: Buffer },
): Record<string, unknown> {
  const steps: Record<string, { output: unknown }> = {}
  for (const [id, output] of outputs) steps[id] = { output }
  // Each URL is signed only when an expression reads it: most steps never do, and signing costs an HMAC per wait.
  const callbacks: Record<string, { readonly url: string }> = {}
  for (const step of flow.steps) {
    if (step.kind === 'wait' || step.kind === 'job') {
      let url: string | undefined
      callbacks[step.id] = {
        get url() {
          url ??= callbackUrl(urls.publicUrl, urls.key, run.id, step.id, callbackVisit(run.cursor, step.id))
          return url
        },
      }
    }
  }
  return {
    inputs: run.inputs,
    steps,
    run: { id: run.id, flow: run.flowSlug, version: run.version, initiator: run.initiator, trigger: run.trigger },
    callbacks,
  }
}
