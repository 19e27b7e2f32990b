// People resume runs: approval votes (quorum, eligibility, artifact binding) and input submissions.
import {
  type ApprovalPolicy,
  checkVoter,
  decide,
  hasExplicitApprovers,
  type VoteDecision,
  withVote,
} from '../core/approval-policy.ts'
import { DEFAULT_APPROVAL_ROUTES, type Route } from '../core/flow/index.ts'
import { AppError, notFound } from '../errors.ts'
import type { Actor, Authorization } from './authorization.ts'
import type { EngineDeps } from './engine-deps.ts'
import { assertInputValues } from './input-submission.ts'
import { continueInline, leftRunning } from './inline-steps.ts'
import { checkPayload } from './payload-schema.ts'
import { externalize } from './resources.ts'
import type { WaitRecord } from './run-ports.ts'
import { resolveWait } from './transitions.ts'

export interface VoteInput {
  waitId: string
  voter: string
  decision: VoteDecision
  comment: string | null
  via: 'slack' | 'api'
  /** A token without a Slack identity (`token:<name>`). */
  anonymousToken: boolean
  /** The digest the voter saw (Slack buttons carry it); a mismatch means the approval was superseded. */
  digest?: string
}

export interface VoteResult {
  recorded: boolean
  duplicate: boolean
  wait_id: string
  run_id: string
  tally: { approvals: number; required: number; approvers: string[] }
  outcome: string | null
}

const refuse = (code: string, message: string, status = 409) => new AppError(code, message, { status })

export function policyOf(wait: WaitRecord): ApprovalPolicy {
  const spec = wait.spec ?? {}
  const approvers = (spec.approvers ?? {}) as { users?: string[]; usergroups?: string[]; channel?: string | null }
  return {
    users: approvers.users ?? [],
    usergroups: approvers.usergroups ?? [],
    channel: approvers.channel ?? null,
    required: Number(spec.required ?? 1),
    allowSelfApproval: spec.allow_self_approval === true,
    initiator: String(spec.initiator ?? ''),
    escalatedTo: (spec.escalated_to as string[] | undefined) ?? [],
  }
}

export function createDecisions(
  deps: EngineDeps & { authorization: Authorization },
  resume: (runId: string, leased?: boolean) => void,
) {
  const { store, clock } = deps

  async function requireWait(id: string, kind: WaitRecord['kind']): Promise<WaitRecord> {
    const wait = await store.getWait(id)
    if (!wait || wait.kind !== kind) {
      throw notFound('wait_not_found', `No ${kind} with id '${id}'.`, {
        hint: "Run 'greenlight waits list' to see open waits.",
      })
    }
    return wait
  }

  /**
   * Where an approval's voters are looked up: its user groups and its channel (or, with nobody listed, the run's
   * channel). They never change once the approval is open (escalation adds users, not groups), so each approval's
   * are read once, not before every vote: an approval's spec can list thousands of approvers.
   */
  const audiences = new Map<string, { usergroups: string[]; channel: string | null }>()
  async function audienceOf(waitId: string): Promise<{ usergroups: string[]; channel: string | null }> {
    const known = audiences.get(waitId)
    if (known) return known
    const wait = await requireWait(waitId, 'approval')
    const policy = policyOf(wait)
    // Default voters (nobody listed): the members of the run's channel (where it was started, or where its thread is
    // posted: the flow's channel or the default), when Slack can tell.
    const run = hasExplicitApprovers(policy) ? undefined : await store.getRun(wait.runId)
    const startedIn = (run?.slack as { channel?: string } | null | undefined)?.channel ?? null
    const runChannel =
      run && deps.directory.runChannel ? deps.directory.runChannel(run, await deps.flowOf(run.revisionId)) : startedIn
    const audience = { usergroups: policy.usergroups, channel: policy.channel ?? runChannel }
    if (audiences.size >= 1000) audiences.delete(audiences.keys().next().value as string)
    audiences.set(waitId, audience)
    return audience
  }

  return {
    async vote(input: VoteInput): Promise<VoteResult> {
      const audience = await audienceOf(input.waitId)
      const members = await deps.directory.members(audience.usergroups, audience.channel)
      const at = clock.now()
      let continues = true
      const { result, commit } = await store.transact(async (view) => {
        const wait = await view.getWait(input.waitId)
        if (wait?.kind !== 'approval') throw notFound('wait_not_found', `No approval with id '${input.waitId}'.`)
        const policy = policyOf(wait)
        const newer = await view.getWaitAt(wait.runId, wait.stepId, wait.visit + 1)
        if (newer || (input.digest !== undefined && input.digest !== wait.digest)) {
          throw refuse('approval_superseded', 'A newer revision of this request was posted; vote on that one.')
        }
        if (wait.status !== 'open')
          throw refuse(
            'approval_closed',
            `This approval is already ${wait.status === 'completed' ? 'decided' : wait.status}.`,
          )
        const eligibility = checkVoter(
          policy,
          input.voter,
          input.decision,
          { members, anonymousToken: input.anonymousToken },
          input.comment,
        )
        if (!eligibility.ok)
          throw new AppError(eligibility.code, eligibility.message, {
            status: eligibility.code === 'comment_required' ? 400 : 403,
          })
        const digest = wait.digest ?? ''
        // The tally comes from a summary the store computes; every vote is read only when this one decides.
        const { summary, voted: already } = await view.voteSummary(wait.id, digest, input.voter, input.decision)
        const base = { wait_id: wait.id, run_id: wait.runId }
        if (already) {
          const t = decide(summary, policy.required)
          return {
            transition: null,
            result: { ...base, recorded: false, duplicate: true, tally: t, outcome: t.outcome } as VoteResult,
          }
        }
        const vote = {
          waitId: wait.id,
          voter: input.voter,
          decision: input.decision,
          comment: input.comment,
          digest,
          via: input.via,
          at,
        }
        const t = decide(withVote(summary, vote), policy.required)
        const voted = {
          type: 'approval.voted',
          stepId: wait.stepId,
          actor: input.voter,
          data: { wait_id: wait.id, decision: input.decision, comment: input.comment, digest, via: input.via },
        }
        const result: VoteResult = { ...base, recorded: true, duplicate: false, tally: t, outcome: t.outcome }
        if (!t.outcome) return { transition: { runId: wait.runId, at, insertVote: vote, events: [voted] }, result }
        const run = await view.getRun(wait.runId)
        if (!run) throw notFound('run_not_found', 'The run of this approval is gone.')
        const flow = await deps.flowOf(run.revisionId)
        const votes = await view.votes(wait.id)
        const output = {
          decision: t.outcome,
          votes: [...votes, vote]
            .filter((v) => v.digest === digest)
            .map((v) => ({
              user: v.voter,
              decision: v.decision,
              comment: v.comment,
              at: new Date(v.at).toISOString(),
            })),
          comment: t.comment,
          digest,
        }
        const route = ((wait.spec?.on as Record<string, Route> | undefined)?.[t.outcome] ??
          DEFAULT_APPROVAL_ROUTES[t.outcome]) as Route
        const transition = resolveWait({
          run,
          flow,
          wait,
          at,
          status: 'succeeded',
          output,
          error:
            route === 'fail'
              ? {
                  code: `approval_${t.outcome}`,
                  message: `The approval was ${t.outcome.replace('_', ' ')}${t.comment ? `: ${t.comment}` : '.'}`,
                }
              : null,
          route,
          waitStatus: 'completed',
          events: [
            voted,
            {
              type: 'approval.decided',
              stepId: wait.stepId,
              actor: input.voter,
              data: { wait_id: wait.id, outcome: t.outcome, approvers: t.approvers, comment: t.comment, digest },
            },
          ],
          owner: deps.owner,
          leaseMs: deps.leaseMs,
        })
        transition.insertVote = vote
        const continued = await continueInline(deps, view, run, flow, transition)
        continues = leftRunning(continued)
        return { transition: continued, result }
      })
      if (commit?.ok === false && commit.conflict === 'duplicate_vote')
        return { ...result, recorded: false, duplicate: true }
      if (commit?.ok === false)
        throw refuse('approval_closed', 'This approval was decided while your vote was on its way.')
      if (commit?.ok) {
        deps.onRunChange?.(result.run_id)
        if (result.outcome && continues) resume(result.run_id, true)
        if (commit.promoted) resume(commit.promoted)
      }
      return result
    },

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
        const problems = checkPayload(wait.spec?.schema, values)
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
            data: { wait_id: wait.id },
          },
        ],
        owner: deps.owner,
        leaseMs: deps.leaseMs,
      })
      const commit = await store.commit(transition)
      if (!commit.ok) throw refuse('wait_closed', 'This wait closed while your answer was on its way.')
      deps.onRunChange?.(run.id)
      resume(run.id, true)
      if (commit.promoted) resume(commit.promoted)
      return { wait_id: wait.id, run_id: run.id }
    },
  }
}

export type Decisions = ReturnType<typeof createDecisions>
