import { describe, expect, it } from 'vitest'
import { createRedactor } from '../core/redact.ts'
import { redactingRunStore } from './redacting-store.ts'
import type { RunStore, Transition } from './run-ports.ts'

describe('redactingRunStore', () => {
  it('masks outputs, errors and events of a transition but never the cursor, even when a secret equals a step id', async () => {
    const r = createRedactor()
    r.add('deploy')
    const seen: Transition[] = []
    const commit = async (t: Transition) => {
      seen.push(t)
      return { ok: true }
    }
    const store = { commit } as unknown as RunStore
    await redactingRunStore(store, r).commit({
      runId: 'run_1',
      at: 1,
      run: {
        cursor: { step: 'deploy', visit: 1, attempt: 1, visits: { deploy: 1 } },
        output: { said: 'deploy now' },
        error: { code: 'x', message: 'deploy failed' },
      },
      stepRun: {
        stepId: 'deploy',
        visit: 1,
        kind: 'http',
        status: 'succeeded',
        attempt: 1,
        output: { body: 'deploy' },
        error: null,
        billable: true,
        startedAt: 1,
        endedAt: 1,
      },
      events: [{ type: 'step.succeeded', stepId: 'deploy', data: { echo: 'deploy' } }],
    })
    const t = seen[0] as Transition
    expect(t.run?.cursor?.step).toBe('deploy')
    expect(t.run?.cursor?.visits).toEqual({ deploy: 1 })
    expect(t.run?.output).toEqual({ said: '*** now' })
    expect(t.run?.error?.message).toBe('*** failed')
    expect(t.stepRun?.stepId).toBe('deploy')
    expect(t.stepRun?.output).toEqual({ body: '***' })
    expect(t.events?.[0]).toEqual({ type: 'step.succeeded', stepId: 'deploy', data: { echo: '***' } })
  })
})
