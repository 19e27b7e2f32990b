import { describe, expect, it } from 'vitest'
import { type ApprovalPolicy, checkVoter, tally, type Vote } from './policy.ts'

const policy = (over: Partial<ApprovalPolicy> = {}): ApprovalPolicy => ({
  users: [],
  usergroups: [],
  channel: null,
  required: 2,
  allowSelfApproval: false,
  initiator: 'U0INIT',
  escalatedTo: [],
  ...over,
})
const vote = (
  voter: string,
  decision: Vote['decision'],
  at: number,
  digest = 'd1',
  comment: string | null = null,
): Vote => ({
  voter,
  decision,
  comment,
  digest,
  at,
})
const none = { members: null, anonymousToken: false }

describe('approval policy', () => {
  it('refuses self-approval unless allowed, but lets the initiator reject', () => {
    expect(checkVoter(policy(), 'U0INIT', 'approve', none, null)).toMatchObject({ ok: false, code: 'self_approval' })
    expect(checkVoter(policy({ allowSelfApproval: true }), 'U0INIT', 'approve', none, null)).toEqual({ ok: true })
    expect(checkVoter(policy(), 'U0INIT', 'reject', none, 'no')).toEqual({ ok: true })
  })

  it('admits listed users, group members and escalation targets only', () => {
    const p = policy({ users: ['U1'], usergroups: ['S1'], escalatedTo: ['U9'] })
    const members = { members: new Set(['U2']), anonymousToken: false }
    expect(checkVoter(p, 'U1', 'approve', members, null).ok).toBe(true)
    expect(checkVoter(p, 'U2', 'approve', members, null).ok).toBe(true)
    expect(checkVoter(p, 'U9', 'approve', members, null).ok).toBe(true)
    expect(checkVoter(p, 'U3', 'approve', members, null)).toMatchObject({ ok: false, code: 'not_eligible' })
    expect(checkVoter(p, 'token:ci', 'approve', { members: null, anonymousToken: true }, null).ok).toBe(false)
  })

  it('defaults to anyone holding the scope when nobody is listed and Slack is off', () => {
    expect(checkVoter(policy(), 'token:ci', 'approve', { members: null, anonymousToken: true }, null).ok).toBe(true)
    expect(checkVoter(policy(), 'U5', 'approve', { members: new Set(['U6']), anonymousToken: false }, null).ok).toBe(
      false,
    )
  })

  it('requires a comment to reject or request changes', () => {
    expect(checkVoter(policy(), 'U1', 'request_changes', none, ' ')).toMatchObject({ code: 'comment_required' })
  })

  it('needs a quorum of distinct approvers on the current digest', () => {
    expect(tally([vote('U1', 'approve', 1)], 2, 'd1').outcome).toBeNull()
    expect(tally([vote('U1', 'approve', 1), vote('U1', 'approve', 2)], 2, 'd1').approvals).toBe(1)
    expect(tally([vote('U1', 'approve', 1, 'd0'), vote('U2', 'approve', 2)], 2, 'd1').outcome).toBeNull()
    expect(tally([vote('U1', 'approve', 1), vote('U2', 'approve', 2, 'd1', 'ship it')], 2, 'd1')).toMatchObject({
      outcome: 'approved',
      approvals: 2,
      comment: 'ship it',
    })
  })

  it('decides at the first reject or change request', () => {
    const t = tally([vote('U1', 'approve', 1), vote('U2', 'request_changes', 2, 'd1', 'rename it')], 2, 'd1')
    expect(t).toMatchObject({ outcome: 'changes_requested', comment: 'rename it' })
    expect(tally([vote('U2', 'reject', 1, 'd1', 'no')], 1, 'd1').outcome).toBe('rejected')
  })
})
