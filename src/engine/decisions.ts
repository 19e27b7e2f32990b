// People and agents complete waits by hand: input submissions, and waits or jobs completed through the API/CLI.
// Votes on approvals are in approvals.ts.

import { specOf } from '../core/wait-spec.ts'
import { AppError, notFound } from '../errors.ts'
import { type Actor, type Authorization, credentialData } from './authorization.ts'
import type { EngineDeps } from './engine-deps.ts'
import { assertInputValues } from './input-submission.ts'
import { checkPayload } from './payload-schema.ts'
import { externalize } from './resources.ts'
import { createSettle } from './settle.ts'
import { resolveWait } from './transitions.ts'

const refuse = (code: string, message: string, status = 409) => new AppError(code, message, { status })

export function createDecisions(
  deps: EngineDeps & { authorization: Authorization },
  resume: (runId: string, leased?: boolean) => void,
) {
  const { store, clock } = deps
  const { commitAndContinue } = createSettle(deps, resume)

  return {
    /** Refuses (403 `not_eligible`) anyone who may not fill in this open input; Slack asks before opening the form. */
    async assertMaySubmit(waitId: string, actor: Actor): Promise<void> {
      const wait = await store.getWait(waitId)
      if (wait?.kind !== 'input' || wait.status !== 'open') {
        throw refuse('wait_closed', 'This input is no longer open.')
      }
      const run = await store.getRun(wait.runId)
      if (!run) throw notFound('run_not_found', 'The run of this input is gone.')
      await deps.authorization.assertMaySubmit(wait, run, actor)
    },

    /** Completes an input step with submitted values, or a wait/job with a payload (CLI `waits complete`). */
    async submit(waitId: string, values: unknown, actor: Actor): Promise<{ wait_id: string; run_id: string }> {
      const wait = await store.getWait(waitId)
      if (wait?.kind === 'approval') {
        throw new AppError('is_approval', `'${waitId}' is an approval: it is decided by votes, not completed.`, {
          status: 409,
          hint: `Vote with 'greenlight waits approve ${waitId}' or 'greenlight waits reject ${waitId} --comment …'.`,
        })
      }
      if (!wait || !['input', 'wait', 'job'].includes(wait.kind)) {
        throw notFound('wait_not_found', `No open wait with id '${waitId}'.`, { hint: "Run 'greenlight waits list'." })
      }
      if (wait.status !== 'open') throw refuse('wait_closed', `This wait is already ${wait.status}.`)
      const run = await store.getRun(wait.runId)
      if (!run) throw notFound('run_not_found', 'The run of this wait is gone.')
      // A wait or a job is completed by whoever holds runs:write (agents, CI); an input asks particular people.
      if (wait.kind === 'input') await deps.authorization.assertMaySubmit(wait, run, actor)
      assertInputValues(wait, values)
      if (wait.kind === 'wait') {
        const problems = checkPayload(specOf(wait, 'wait').schema, values)
        if (problems.length > 0) {
          throw new AppError('invalid_payload', "The payload does not match the wait's schema; the wait stays open.", {
            status: 422,
            details: { problems },
          })
        }
      }
      const flow = await deps.flowOf(run.revisionId)
      const at = clock.now()
      const given = wait.kind === 'input' ? { values, user: actor.id, at: new Date(at).toISOString() } : values
      const { value: output } = await externalize(deps.resources, given, deps.resourceThresholdBytes, run.id)
      const transition = resolveWait({
        run,
        flow,
        wait,
        at,
        status: 'succeeded',
        output,
        route: 'next',
        waitStatus: 'completed',
        events: [
          {
            type: wait.kind === 'input' ? 'input.submitted' : 'wait.completed',
            stepId: wait.stepId,
            actor: actor.id,
            data: { wait_id: wait.id, ...credentialData(actor) },
          },
        ],
        owner: deps.owner,
        leaseMs: deps.leaseMs,
      })
      const commit = await commitAndContinue(transition)
      if (!commit.ok) throw refuse('wait_closed', 'This wait closed while your answer was on its way.')
      return { wait_id: wait.id, run_id: run.id }
    },
  }
}

export type Decisions = ReturnType<typeof createDecisions>
