// Approvals, in one place: who may vote (users, user groups, channel members, the default voters), votes and the
// decision they reach, the timers of an open approval (timeout, reminders, escalation ladder) and what waits on whom.
// The pure rules (eligibility, quorum, tally, edits) are in core/approvals; this module applies them to the stored
// approval.
import {
  type ApprovalEdit,
  changedFields,
  checkEdits,
  editAfter,
  editedOutput,
  encodeEdit,
  MAX_EDIT_REVISIONS,
  revise,
} from '../core/approvals/edits.ts'
import {
  type ApprovalPolicy,
  checkVoter,
  decide,
  hasExplicitApprovers,
  type Tally,
  tally,
  type VoteDecision,
  withVote,
} from '../core/approvals/policy.ts'
import { DEFAULT_APPROVAL_ROUTES, type Route } from '../core/flow/index.ts'
import { type ApprovalSpec, specOf } from '../core/wait-spec.ts'
import { AppError, notFound } from '../errors.ts'
import type { Authorization, Credential } from './authorization.ts'
import type { CompiledFlow } from './compiled-flow.ts'
import type { EngineDeps } from './engine-deps.ts'
import { continueInline } from './inline-steps.ts'
import type { NewEvent, RunRecord, TimerRecord, Transition, TxView, VoteRecord, WaitRecord } from './run-ports.ts'
import { createSettle } from './settle.ts'
import { resolveWait } from './transitions.ts'

export interface VoteInput {
  waitId: string
  voter: string
  decision: VoteDecision
  comment: string | null
  /** Where the vote was cast: a Slack button or form, the API (CLI, MCP), or the web console. */
  via: 'slack' | 'api' | 'console'
  /** A token without a Slack identity (`token:<name>`). */
  anonymousToken: boolean
  /** The API token that casts the vote; recorded with the vote and in its event. */
  credential?: Credential | null
  /** The digest the voter saw (Slack buttons carry it, the API may send it); a vote on another is refused. */
  digest?: string
  /**
   * Approve with edits: `{field: text}` for the approval's edit fields (an approve only). Values that differ from
   * the current ones make a new revision (new digest, earlier votes void) that this approve is the first vote on;
   * values equal to the current ones make it a plain approve.
   */
  edits?: Record<string, unknown>
}

export interface VoteResult {
  recorded: boolean
  duplicate: boolean
  wait_id: string
  run_id: string
  tally: { approvals: number; required: number; approvers: string[] }
  outcome: string | null
  /** The digest the vote was recorded on: the approval's current one (a new one when this vote edited it). */
  digest: string
  /** The fields this vote changed (a new revision), when it carried edits that changed something. */
  edited?: string[]
}

/** An open approval someone may vote on, with what a list of them shows. */
export interface OpenApproval {
  wait: WaitRecord
  spec: ApprovalSpec
  run: RunRecord
  tally: Tally
}

const refuse = (code: string, message: string, more: { status?: number; hint?: string } = {}) =>
  new AppError(code, message, { status: 409, ...more })

/** Approvals of one run looked at, at most, for what a decide token may read. */
const MAX_APPROVALS_PER_RUN = 500

/** Whether `ref` is in what an approval shows: its message, its diff and its attachments. */
export function approvalShows(wait: WaitRecord, ref: string): boolean {
  if (wait.kind !== 'approval') return false
  const { message, diff, attachments } = specOf(wait, 'approval')
  return JSON.stringify([message, diff, attachments]).includes(ref)
}

export function policyOf(spec: ApprovalSpec): ApprovalPolicy {
  return {
    users: spec.approvers.users,
    usergroups: spec.approvers.usergroups,
    channel: spec.approvers.channel,
    required: spec.required,
    allowSelfApproval: spec.allowSelfApproval,
    initiator: spec.initiator,
    escalatedTo: spec.escalatedTo,
  }
}

/** The votes of an approval as its output lists them: those on the artifact `digest`, in the order cast. */
function votesShown(votes: readonly VoteRecord[], digest: string | null) {
  return votes
    .filter((v) => digest === null || v.digest === digest)
    .map((v) => ({
      user: v.voter,
      decision: v.decision,
      comment: v.comment,
      at: new Date(v.at).toISOString(),
      ...(v.tokenName ? { token: { id: v.tokenId ?? null, name: v.tokenName } } : {}),
    }))
}

/** Where an outcome goes: the approval's `on:`, else the default (approved continues, the rest fail). */
function routeOf(spec: ApprovalSpec, outcome: keyof typeof DEFAULT_APPROVAL_ROUTES): Route {
  return spec.on[outcome] ?? DEFAULT_APPROVAL_ROUTES[outcome]
}

/**
 * How a decided approval's step reads: a "no" that fails the run fails the step (`failed`, or `timed_out` when
 * nobody answered), so nothing shows a rejected approval as succeeded; an outcome the flow routes on succeeded.
 */
function stepStatusOf(route: Route, outcome: string): 'succeeded' | 'failed' {
  return route === 'fail' && outcome !== 'approved' ? 'failed' : 'succeeded'
}

export function createApprovals(
  deps: EngineDeps & { authorization: Authorization },
  resume: (runId: string, leased?: boolean) => void,
) {
  const { store, clock } = deps
  const { transactAndContinue } = createSettle(deps, resume)

  async function requireApproval(id: string): Promise<WaitRecord> {
    const wait = await store.getWait(id)
    if (wait?.kind !== 'approval') {
      const hint =
        wait === undefined
          ? "Run 'greenlight waits list' to see open waits."
          : `'${id}' is a ${wait.kind}; complete it with 'greenlight waits complete ${id}'.`
      throw notFound('wait_not_found', `No approval with id '${id}'.`, { hint })
    }
    return wait
  }

  /**
   * Where an approval's voters are looked up: its user groups and its channel (or, with nobody listed, the run's
   * channel). They never change once the approval is open (escalation adds users, not groups), so each approval's
   * are read once, not before every vote: an approval's spec can list thousands of approvers.
   */
  const audiences = new Map<string, { usergroups: string[]; channel: string | null }>()
  async function audienceOf(
    wait: WaitRecord,
    run?: RunRecord,
  ): Promise<{ usergroups: string[]; channel: string | null }> {
    const known = audiences.get(wait.id)
    if (known) return known
    const policy = policyOf(specOf(wait, 'approval'))
    // Default voters (nobody listed): the members of the run's channel (where it was started, or where its thread is
    // posted: the flow's channel or the default), when Slack can tell.
    const owner = hasExplicitApprovers(policy) ? undefined : (run ?? (await store.getRun(wait.runId)))
    const startedIn = (owner?.slack as { channel?: string } | null | undefined)?.channel ?? null
    const runChannel =
      owner && deps.directory.runChannel
        ? deps.directory.runChannel(owner, await deps.flowOf(owner.revisionId))
        : startedIn
    const audience = { usergroups: policy.usergroups, channel: policy.channel ?? runChannel }
    if (audiences.size >= 1000) audiences.delete(audiences.keys().next().value as string)
    audiences.set(wait.id, audience)
    return audience
  }

  async function membersOf(wait: WaitRecord, run?: RunRecord): Promise<ReadonlySet<string> | null> {
    const audience = await audienceOf(wait, run)
    return deps.directory.members(audience.usergroups, audience.channel)
  }

  /**
   * Whether this open approval waits on `user` (a Slack user): they may approve it. The initiator of a run that
   * forbids self-approval may still reject it, but nothing waits on them.
   */
  async function waitsOn(wait: WaitRecord, user: string, run?: RunRecord): Promise<boolean> {
    const policy = policyOf(specOf(wait, 'approval'))
    const members = await membersOf(wait, run)
    return checkVoter(policy, user, 'approve', { members, anonymousToken: false }, null).ok
  }

  const approvalsOfRun = (runId: string) => store.listWaits({ runId, kind: 'approval', limit: MAX_APPROVALS_PER_RUN })

  async function tallyOf(wait: WaitRecord): Promise<Tally> {
    return tally((await store.votes(wait.id)) as never, specOf(wait, 'approval').required, wait.digest ?? '')
  }

  /**
   * Refuses a vote for something this approval no longer shows: a newer visit of the step (a changes-requested
   * loop), an edit made after the voter looked (their digest is the one the edit replaced), or a digest it never had.
   */
  async function assertShown(
    reader: Pick<TxView, 'getWaitAt'>,
    wait: WaitRecord,
    spec: ApprovalSpec,
    digest: string | undefined,
  ): Promise<void> {
    const superseded = () =>
      refuse('approval_superseded', 'A newer revision of this request was posted; vote on that one.')
    if (await reader.getWaitAt(wait.runId, wait.stepId, wait.visit + 1)) throw superseded()
    if (digest === undefined || digest === wait.digest) return
    // The text an edit replaced: the voter saw the draft (or an earlier edit), not what is shown now.
    const edit = editAfter(spec.edit, digest)
    if (edit) {
      throw refuse(
        'approval_superseded',
        `This request was edited (${edit.fields.join(', ')}) by ${edit.by} after you saw it, so your vote would be for the earlier text; read the edited version and vote on that.`,
        {
          hint: `Read it with 'greenlight waits show ${wait.id}' (digest ${wait.digest ?? ''}), or in the updated Slack message.`,
        },
      )
    }
    // The digest of an earlier revision of this request: the voter saw that one. Anything else is not what was
    // ever shown here.
    for (let visit = wait.visit - 1; visit >= 1; visit--) {
      if ((await reader.getWaitAt(wait.runId, wait.stepId, visit))?.digest === digest) throw superseded()
    }
    throw refuse(
      'digest_mismatch',
      'The digest you sent does not match what this approval shows, so the vote is not for this artifact.',
      { hint: `Read the approval ('greenlight runs show ${wait.runId}') and vote with its digest, or without one.` },
    )
  }

  /**
   * What a vote's edits do: null when they change nothing (a plain approve), else the next revision of the edit
   * fields and its digest. Refuses edits on anything but an approve, unknown fields, non-text and oversized values.
   */
  function editOf(
    wait: WaitRecord,
    spec: ApprovalSpec,
    input: VoteInput,
    at: number,
  ): { edit: ApprovalEdit; digest: string; changed: string[] } | null {
    if (input.decision !== 'approve') {
      throw new AppError('invalid_edits', 'Only an approval carries edits; a rejection or change request cannot.', {
        status: 400,
        hint: 'Approve with the edits, or request changes with a comment saying what to change.',
      })
    }
    const checked = checkEdits(spec.edit, input.edits)
    if (!checked.ok) {
      throw new AppError(checked.code, checked.message, {
        status: 400,
        details: { problems: checked.problems, fields: spec.edit?.fields.map((f) => f.name) ?? [] },
      })
    }
    // Stored values are masked (the store redacts every record), so compare and digest what will be stored.
    const values = deps.redactor ? (deps.redactor.value(checked.values) as Record<string, string>) : checked.values
    if (!spec.edit || changedFields(spec.edit, values).length === 0) return null
    if (spec.edit.history.length >= MAX_EDIT_REVISIONS) {
      throw refuse('too_many_edits', `This request was edited ${MAX_EDIT_REVISIONS} times already; no more edits.`, {
        hint: 'Approve it as it is, or request changes.',
      })
    }
    const { message, diff, attachments } = spec
    return revise({ message, diff, attachments }, spec.edit, values, input.voter, at, wait.digest ?? '')
  }

  /** The run event of an edit: who changed which fields to what, and how many approvals it voided. */
  async function editedEvent(
    view: TxView,
    wait: WaitRecord,
    input: VoteInput,
    edited: { edit: ApprovalEdit; digest: string; changed: string[] },
  ): Promise<NewEvent> {
    const replaced = wait.digest ?? ''
    const before = await view.voteSummary(wait.id, replaced, input.voter, 'approve')
    const values = Object.fromEntries(
      edited.edit.fields.filter((f) => edited.changed.includes(f.name)).map((f) => [f.name, f.value]),
    )
    return {
      type: 'approval.edited',
      stepId: wait.stepId,
      actor: input.voter,
      data: {
        wait_id: wait.id,
        revision: edited.edit.revision,
        fields: values,
        previous_digest: replaced,
        digest: edited.digest,
        voided_approvals: before.summary.approvers.length,
        via: input.via,
        ...(input.credential ? { token: input.credential } : {}),
      },
    }
  }

  /** The transition of the vote that decides: the vote, the step's output, the route, and what follows inline. */
  async function deciding(
    view: TxView,
    wait: WaitRecord,
    vote: VoteRecord,
    t: Tally & { outcome: NonNullable<Tally['outcome']> },
    events: NewEvent[],
    edit: ApprovalEdit | null,
    revised: Partial<WaitRecord> | undefined,
  ): Promise<Transition> {
    const run = await view.getRun(wait.runId)
    if (!run) throw notFound('run_not_found', 'The run of this approval is gone.')
    const flow = await deps.flowOf(run.revisionId)
    const { digest } = vote
    const output = {
      decision: t.outcome,
      votes: votesShown([...(await view.votes(wait.id)), vote], digest),
      comment: t.comment,
      digest,
      ...(edit ? { edited: editedOutput(edit) } : {}),
    }
    events.push({
      type: 'approval.decided',
      stepId: wait.stepId,
      actor: vote.voter,
      data: { wait_id: wait.id, outcome: t.outcome, approvers: t.approvers, comment: t.comment, digest },
    })
    const transition = decided(run, flow, wait, vote.at, t.outcome, output, t.comment, events, revised)
    transition.insertVote = vote
    return continueInline(deps, view, run, flow, transition)
  }

  /** A decided approval's transition: the step result, the route, and the run's advance. */
  function decided(
    run: RunRecord,
    flow: CompiledFlow,
    wait: WaitRecord,
    at: number,
    outcome: 'approved' | 'rejected' | 'changes_requested',
    output: Record<string, unknown>,
    comment: string | null,
    events: NonNullable<Transition['events']>,
    waitPatch?: Partial<WaitRecord>,
  ): Transition {
    const spec = specOf(wait, 'approval')
    const route = routeOf(spec, outcome)
    return resolveWait({
      ...(waitPatch ? { waitPatch } : {}),
      run,
      flow,
      wait,
      at,
      status: stepStatusOf(route, outcome),
      output,
      error:
        route === 'fail'
          ? {
              code: `approval_${outcome}`,
              message: `The approval was ${outcome.replace('_', ' ')}${comment ? `: ${comment}` : '.'}`,
              step: wait.stepId,
            }
          : null,
      route,
      waitStatus: 'completed',
      events,
      owner: deps.owner,
      leaseMs: deps.leaseMs,
    })
  }

  return {
    policyOf,
    tallyOf,
    waitsOn,

    /**
     * The open approvals `user` may vote on, newest first: listed users, members of the listed user groups and
     * channel, people added by escalation, or the default voters. Reads every open approval, not only the newest.
     */
    async waitingOn(user: string, limit = 50): Promise<OpenApproval[]> {
      const found: OpenApproval[] = []
      const page = 200
      for (let offset = 0; found.length < limit; offset += page) {
        const waits = await store.listWaits({
          status: ['open'],
          kind: 'approval',
          limit: page,
          offset,
          mayWaitOn: user,
        })
        for (const wait of waits) {
          const run = await store.getRun(wait.runId)
          if (!run || found.length >= limit || !(await waitsOn(wait, user, run))) continue
          found.push({ wait, spec: specOf(wait, 'approval'), run, tally: await tallyOf(wait) })
        }
        if (waits.length < page) break
      }
      return found
    },

    /**
     * What a token holding approvals:decide without runs:read may read: a voter must see what it votes on, and is not
     * thereby a reader of every run. A run with at least one approval (open or decided) may be read.
     */
    async mayReadRun(runId: string): Promise<boolean> {
      return (await approvalsOfRun(runId)).length > 0
    },

    /**
     * A resource an approval shows (its message, diff or attachments: the digest's input). Bytes are stored once by
     * content, so the approval that shows them may belong to a later run than the one that stored them first: the
     * storing run's approvals are asked, then every open approval.
     */
    async mayReadResource(id: string, storedBy: string | null): Promise<boolean> {
      const ref = `res://${id}`
      if (storedBy !== null && (await approvalsOfRun(storedBy)).some((w) => approvalShows(w, ref))) return true
      const open = await store.listWaits({ kind: 'approval', status: ['open'], limit: MAX_APPROVALS_PER_RUN })
      return open.some((w) => approvalShows(w, ref))
    },

    async vote(input: VoteInput): Promise<VoteResult> {
      const members = await membersOf(await requireApproval(input.waitId))
      const at = clock.now()
      const { result, commit } = await transactAndContinue(async (view) => {
        const wait = await view.getWait(input.waitId)
        if (wait?.kind !== 'approval') throw notFound('wait_not_found', `No approval with id '${input.waitId}'.`)
        const spec = specOf(wait, 'approval')
        const policy = policyOf(spec)
        await assertShown(view, wait, spec, input.digest)
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
        const edited = input.edits === undefined ? null : editOf(wait, spec, input, at)
        const digest = edited?.digest ?? wait.digest ?? ''
        // The tally comes from a summary the store computes; every vote is read only when this one decides.
        const { summary, voted: already } = await view.voteSummary(wait.id, digest, input.voter, input.decision)
        const base = { wait_id: wait.id, run_id: wait.runId, digest }
        if (already) {
          const t = decide(summary, policy.required)
          return {
            transition: null,
            result: { ...base, recorded: false, duplicate: true, tally: t, outcome: t.outcome } as VoteResult,
          }
        }
        const credential = input.credential ?? null
        const vote: VoteRecord = {
          waitId: wait.id,
          voter: input.voter,
          decision: input.decision,
          comment: input.comment,
          digest,
          via: input.via,
          tokenId: credential?.id ?? null,
          tokenName: credential?.name ?? null,
          at,
        }
        const t = decide(withVote(summary, input), policy.required)
        const events: NewEvent[] = []
        if (edited) events.push(await editedEvent(view, wait, input, edited))
        events.push({
          type: 'approval.voted',
          stepId: wait.stepId,
          actor: input.voter,
          data: {
            wait_id: wait.id,
            decision: input.decision,
            comment: input.comment,
            digest,
            via: input.via,
            ...(credential ? { token: credential } : {}),
            ...(edited ? { edited: edited.changed } : {}),
          },
        })
        const result: VoteResult = {
          ...base,
          recorded: true,
          duplicate: false,
          tally: t,
          outcome: t.outcome,
          ...(edited ? { edited: edited.changed } : {}),
        }
        // An edit makes the new revision current in the same transaction as the vote on it.
        const revised = edited ? { spec: { ...wait.spec, edit: encodeEdit(edited.edit) }, digest } : undefined
        if (!t.outcome) {
          const transition: Transition = { runId: wait.runId, at, insertVote: vote, events }
          if (revised) transition.updateWait = { id: wait.id, fromStatus: ['open'], patch: revised }
          return { transition, result }
        }
        const edit = edited?.edit ?? spec.edit
        return {
          transition: await deciding(view, wait, vote, { ...t, outcome: t.outcome }, events, edit, revised),
          result,
        }
      })
      if (commit?.ok === false && commit.conflict === 'duplicate_vote')
        return { ...result, recorded: false, duplicate: true }
      if (commit?.ok === false)
        throw refuse('approval_closed', 'This approval was decided while your vote was on its way.')
      return result
    },

    /**
     * Refuses, as a vote would, a voter who may not approve this open approval now (Slack asks before opening the
     * Edit & approve form, so nobody types into a form whose submission would be refused).
     */
    async assertMayApprove(waitId: string, voter: string, digest?: string): Promise<WaitRecord> {
      const wait = await requireApproval(waitId)
      const spec = specOf(wait, 'approval')
      await assertShown(store, wait, spec, digest)
      if (wait.status !== 'open') throw refuse('approval_closed', 'This approval is already decided.')
      const members = await membersOf(wait)
      const eligibility = checkVoter(policyOf(spec), voter, 'approve', { members, anonymousToken: false }, null)
      if (!eligibility.ok) throw new AppError(eligibility.code, eligibility.message, { status: 403 })
      return wait
    },

    /** What an approval timer does when it fires (timeout, reminder, escalation level); null: nothing to do. */
    async fired(timer: TimerRecord, wait: WaitRecord, run: RunRecord, flow: CompiledFlow): Promise<Transition | null> {
      const spec = specOf(wait, 'approval')
      const at = clock.now()
      switch (timer.kind) {
        case 'approval_timeout': {
          const votes = await store.votes(wait.id)
          const t = tally(votes as never, spec.required, wait.digest ?? '')
          const route = routeOf(spec, 'timed_out')
          return resolveWait({
            run,
            flow,
            wait,
            at,
            owner: deps.owner,
            leaseMs: deps.leaseMs,
            status: stepStatusOf(route, 'timed_out'),
            output: {
              decision: 'timed_out',
              votes: votesShown(votes, null),
              comment: null,
              digest: wait.digest,
              approvals: t.approvals,
              ...(spec.edit ? { edited: editedOutput(spec.edit) } : {}),
            },
            error:
              route === 'fail'
                ? { code: 'approval_timed_out', message: `Nobody decided '${wait.stepId}' in time.`, step: wait.stepId }
                : null,
            route,
            waitStatus: 'timed_out',
            failStatus: 'timed_out',
            events: [
              { type: 'approval.timed_out', stepId: wait.stepId, data: { wait_id: wait.id, approvals: t.approvals } },
            ],
          })
        }
        case 'approval_remind': {
          const n = Number(timer.data?.n ?? 1)
          const every = spec.remindEveryMs ?? 0
          const t = await tallyOf(wait)
          // After downtime the missed reminders are one reminder now, and the next comes one interval from now.
          let next = timer.fireAt + every
          if (next <= at) next = at + every
          return {
            runId: run.id,
            at,
            events: [
              {
                type: 'approval.reminded',
                stepId: wait.stepId,
                data: { wait_id: wait.id, reminder: n, approvals: t.approvals, required: t.required },
              },
            ],
            armTimers:
              every > 0
                ? [
                    {
                      key: `w:${wait.id}:remind:${n + 1}`,
                      kind: 'approval_remind',
                      fireAt: next,
                      waitId: wait.id,
                      data: { n: n + 1 },
                    },
                  ]
                : [],
          }
        }
        case 'approval_escalate': {
          // Rows armed before ladders carry no level: they are the first (and only) one.
          const level = Number(timer.data?.level ?? 1)
          const rung = spec.escalate[level - 1]
          if (!rung) return null
          const groups = rung.to.usergroups
          const members = groups.length > 0 ? await deps.directory.members(groups, null) : null
          const added = [...new Set([...rung.to.users, ...(members ?? [])])]
          const raw = wait.spec ?? {}
          const patched = { ...raw, escalated_to: [...new Set([...spec.escalatedTo, ...added])] }
          return {
            runId: run.id,
            at,
            updateWait: { id: wait.id, fromStatus: ['open'], patch: { spec: patched } },
            events: [
              {
                type: 'approval.escalated',
                stepId: wait.stepId,
                data: {
                  wait_id: wait.id,
                  level,
                  levels: spec.escalate.length,
                  after: rung.after,
                  to: added,
                  usergroups: groups,
                },
              },
            ],
          }
        }
        default:
          return null
      }
    },
  }
}

export type Approvals = ReturnType<typeof createApprovals>

export const APPROVAL_TIMERS: ReadonlySet<string> = new Set([
  'approval_timeout',
  'approval_remind',
  'approval_escalate',
])
