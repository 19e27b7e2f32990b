// Who may vote on an approval and when the votes add up to a decision (SPEC §4). Pure: membership comes resolved.
import type { ApprovalOutcome } from '../flow/human-steps-model.ts'

export type VoteDecision = 'approve' | 'reject' | 'request_changes'

export interface ApprovalPolicy {
  users: string[]
  usergroups: string[]
  channel: string | null
  required: number
  allowSelfApproval: boolean
  initiator: string
  /** Added by escalation: they may vote too. */
  escalatedTo: string[]
}

export interface Vote {
  voter: string
  decision: VoteDecision
  comment: string | null
  digest: string
  at: number
}

export type Eligibility =
  | { ok: true }
  | { ok: false; code: 'self_approval' | 'not_eligible' | 'comment_required'; message: string }

export interface Membership {
  /** Members of the listed usergroups and channel, or null when they cannot be resolved (Slack off). */
  members: ReadonlySet<string> | null
  /** The voter came through the API with a token that has no Slack identity. */
  anonymousToken: boolean
}

export function hasExplicitApprovers(policy: ApprovalPolicy): boolean {
  return policy.users.length > 0 || policy.usergroups.length > 0 || policy.channel !== null
}

export function checkVoter(
  policy: ApprovalPolicy,
  voter: string,
  decision: VoteDecision,
  membership: Membership,
  comment: string | null,
): Eligibility {
  if ((decision === 'reject' || decision === 'request_changes') && !comment?.trim()) {
    return {
      ok: false,
      code: 'comment_required',
      message: `A ${decision === 'reject' ? 'rejection' : 'change request'} needs a comment saying why.`,
    }
  }
  if (decision === 'approve' && voter === policy.initiator && !policy.allowSelfApproval) {
    return { ok: false, code: 'self_approval', message: 'You started this run, so you cannot approve it yourself.' }
  }
  if (policy.users.includes(voter) || policy.escalatedTo.includes(voter)) return { ok: true }
  if (membership.members?.has(voter)) return { ok: true }
  // The default voters, when the flow lists nobody: the run channel's members, or any holder of approvals:decide
  // (the caller checked the scope) when membership cannot be resolved (Slack off, or a run with no channel). A token
  // with no Slack identity is no channel member, so with Slack on it votes only where the approvers list admits it.
  if (!hasExplicitApprovers(policy) && membership.members === null) return { ok: true }
  return { ok: false, code: 'not_eligible', message: 'You are not one of the approvers of this step.' }
}

export interface Tally {
  approvals: number
  required: number
  approvers: string[]
  outcome: Exclude<ApprovalOutcome, 'timed_out'> | null
  comment: string | null
}

/** What a tally needs of the votes on one artifact digest (the store can compute it without reading every vote). */
export interface VoteSummary {
  /** Distinct approvers, in the order they approved. */
  approvers: string[]
  /** The first vote that is not an approval: it decides at once. */
  blocking: { decision: VoteDecision; comment: string | null } | null
  /** The comment of the latest approval (the approval's comment when the quorum is reached). */
  lastApprovalComment: string | null
}

/** Only votes on the artifact currently shown count, in the order they were cast. */
export function summarize(votes: readonly Vote[], digest: string): VoteSummary {
  const current = votes.filter((v) => v.digest === digest).sort((a, b) => a.at - b.at)
  const approvals = current.filter((v) => v.decision === 'approve')
  const blocking = current.find((v) => v.decision !== 'approve')
  return {
    approvers: [...new Set(approvals.map((v) => v.voter))],
    blocking: blocking ? { decision: blocking.decision, comment: blocking.comment } : null,
    lastApprovalComment: approvals.at(-1)?.comment ?? null,
  }
}

/** The summary once `vote` (the newest) is added. */
export function withVote(summary: VoteSummary, vote: Pick<Vote, 'voter' | 'decision' | 'comment'>): VoteSummary {
  if (vote.decision !== 'approve')
    return summary.blocking ? summary : { ...summary, blocking: { decision: vote.decision, comment: vote.comment } }
  return {
    ...summary,
    approvers: summary.approvers.includes(vote.voter) ? summary.approvers : [...summary.approvers, vote.voter],
    lastApprovalComment: vote.comment,
  }
}

/** The first reject or change request decides at once; otherwise the quorum of distinct approvers does. */
export function decide(summary: VoteSummary, required: number): Tally {
  const { approvers, blocking } = summary
  if (blocking) {
    return {
      approvals: approvers.length,
      required,
      approvers,
      outcome: blocking.decision === 'reject' ? 'rejected' : 'changes_requested',
      comment: blocking.comment,
    }
  }
  const approved = approvers.length >= required
  return {
    approvals: approvers.length,
    required,
    approvers,
    outcome: approved ? 'approved' : null,
    comment: approved ? summary.lastApprovalComment : null,
  }
}

/** Counts only votes on the artifact currently shown; the first reject or change request decides at once. */
export function tally(votes: readonly Vote[], required: number, digest: string): Tally {
  return decide(summarize(votes, digest), required)
}
