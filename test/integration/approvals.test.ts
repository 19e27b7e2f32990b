// Approvals through the API with tokens that vote as Slack users (SPEC §4): quorum, eligibility, self-approval,
// duplicate votes, rejection, the changes-requested loop with superseded requests, and the default voters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shiftedClock } from '../support/clock.ts'
import { eventually, type Json, pushRelease, runReaches, showRun } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'

const QUORUM_FLOW = `slug: ap_quorum
steps:
  - id: review
    approval:
      message: "Ship the patch?"
      diff: "--- a/x.ts\\n+++ b/x.ts\\n@@ -1 +1 @@\\n-old\\n+new\\n"
      approvers: { users: [U0ANN, U0BOB, U0CAT] }
      required: 2
  - id: after
    transform: "{{ steps.review.output.decision }}"
`

const SELF_FLOW = `slug: ap_self
steps:
  - id: review
    approval:
      message: "My own change"
      approvers: { users: [U0INIT, U0ANN] }
      required: 1
      allow_self_approval: true
  - id: after
    transform: "{{ steps.review.output.decision }}"
`

const LOOP_FLOW = `slug: ap_loop
steps:
  - id: produce
    transform: "{{ steps.review.output.comment ? 'v2: ' & steps.review.output.comment : 'v1' }}"
  - id: review
    approval:
      message: "Patch {{ steps.produce.output }}"
      approvers: { users: [U0ANN, U0BOB] }
      on: { changes_requested: { goto: produce } }
  - id: after
    transform: "{{ steps.produce.output }}"
`

const DEFAULT_FLOW = `slug: ap_default
steps:
  - id: review
    approval:
      message: "Anyone?"
  - id: after
    transform: "{{ steps.review.output.decision }}"
`

const ESCALATE_FLOW = `slug: ap_escalate
steps:
  - id: review
    approval:
      message: "Escalate me"
      approvers: { users: [U0ANN] }
      timeout: 1h
      escalate: { after: 30m, to: { users: [U0ESC] } }
`

// The escalation falls due when the test moves this clock, not after real seconds.
const clock = shiftedClock()

async function createToken(server: TestServer, name: string, scopes: string[], asUser?: string): Promise<string> {
  return (await mintToken(server, name, scopes, asUser)).secret
}

/** Waits until the run parks on an approval whose wait id is not `notId`, and returns that wait id. */
async function parkedApproval(server: TestServer, id: string, notId?: string): Promise<string> {
  return eventually(
    async () => {
      const shown = await showRun(server, id)
      const waitId = shown.run.waiting_on?.wait_id
      if (shown.run.status === 'waiting' && shown.run.waiting_on?.kind === 'approval' && waitId && waitId !== notId)
        return waitId as string
      if (['succeeded', 'failed', 'canceled', 'timed_out'].includes(shown.run.status))
        throw new Error(`run ended ${shown.run.status} instead of parking: ${JSON.stringify(shown.run.error)}`)
      return undefined
    },
    () => `run ${id} to park on a new approval`,
  )
}

const vote = (server: TestServer, waitId: string, decision: string, token: string, comment?: string) =>
  api(server, 'POST', `/api/v1/waits/${waitId}/${decision}`, comment === undefined ? {} : { comment }, token)

describe('approvals through the API', () => {
  let server: TestServer
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    server = await startTestServer({}, { clock })
    for (const flow of [QUORUM_FLOW, SELF_FLOW, LOOP_FLOW, DEFAULT_FLOW, ESCALATE_FLOW]) await pushRelease(server, flow)
    tokens.init = await createToken(server, 'init', ['runs:write', 'runs:read', 'approvals:decide'], 'U0INIT')
    tokens.ann = await createToken(server, 'ann', ['approvals:decide'], 'U0ANN')
    tokens.bob = await createToken(server, 'bob', ['approvals:decide'], 'U0BOB')
    tokens.cat = await createToken(server, 'cat', ['approvals:decide'], 'U0CAT')
    tokens.out = await createToken(server, 'out', ['approvals:decide'], 'U0OUT')
    tokens.esc = await createToken(server, 'esc', ['approvals:decide'], 'U0ESC')
    tokens.bot = await createToken(server, 'bot', ['approvals:decide'])
    tokens.agent = await createToken(server, 'agent', ['runs:read', 'runs:write'], 'U0AGENT')
    tokens.starter = await createToken(server, 'starter', ['runs:write', 'runs:read', 'approvals:decide'])
  })
  afterAll(async () => server.close())

  async function start(flow: string, token = tokens.init as string): Promise<Json> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs: {}, wait: true }, token)
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return (started.body.data as Json).run
  }

  it('needs two distinct eligible approvers; refuses self-approval, outsiders and double counting', async () => {
    const run = await start('ap_quorum')
    expect(run).toMatchObject({
      status: 'waiting',
      initiator: 'U0INIT',
      waiting_on: { step: 'review', kind: 'approval' },
    })
    const waitId: string = run.waiting_on.wait_id

    const self = await vote(server, waitId, 'approve', tokens.init as string)
    expect(self.status, JSON.stringify(self.body)).toBe(403)
    expect(self.body.error?.code).toBe('self_approval')

    const outsider = await vote(server, waitId, 'approve', tokens.out as string)
    expect(outsider.status, JSON.stringify(outsider.body)).toBe(403)
    expect(outsider.body.error?.code).toBe('not_eligible')

    const anonymous = await vote(server, waitId, 'approve', tokens.bot as string)
    expect(anonymous.status, JSON.stringify(anonymous.body)).toBe(403)
    expect(anonymous.body.error?.code).toBe('not_eligible')

    const noScope = await vote(server, waitId, 'approve', tokens.agent as string)
    expect(noScope.status, JSON.stringify(noScope.body)).toBe(403)
    expect(noScope.body.error?.code).toBe('forbidden')

    const first = await vote(server, waitId, 'approve', tokens.ann as string, 'looks fine')
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    expect((first.body.data as Json).vote).toMatchObject({
      recorded: true,
      duplicate: false,
      outcome: null,
      tally: { approvals: 1, required: 2, approvers: ['U0ANN'] },
    })

    const again = await vote(server, waitId, 'approve', tokens.ann as string, 'still fine')
    expect(again.status, JSON.stringify(again.body)).toBe(200)
    expect((again.body.data as Json).vote).toMatchObject({ recorded: false, duplicate: true, outcome: null })
    expect((again.body.data as Json).vote.tally.approvals).toBe(1)

    // None of the refused or repeated votes moved the run.
    const mid = await showRun(server, run.id)
    expect(mid.run.status).toBe('waiting')
    expect(mid.wait.votes.map((v: Json) => v.user)).toEqual(['U0ANN'])
    expect(mid.wait.tally).toMatchObject({ approvals: 1, required: 2 })

    const second = await vote(server, waitId, 'approve', tokens.bob as string)
    expect(second.status, JSON.stringify(second.body)).toBe(201)
    expect((second.body.data as Json).vote).toMatchObject({ recorded: true, outcome: 'approved' })

    const done = await runReaches(server, run.id, ['succeeded', 'failed'])
    expect(done.run.status).toBe('succeeded')
    expect(done.run.output).toBe('approved')
    const output = done.steps.find((s: Json) => s.step === 'review').output
    expect(output.decision).toBe('approved')
    expect(output.digest).toMatch(/^[0-9a-f]{64}$/)
    expect(output.votes.map((v: Json) => [v.user, v.decision])).toEqual([
      ['U0ANN', 'approve'],
      ['U0BOB', 'approve'],
    ])
    expect(output.votes[0].comment).toBe('looks fine')
    expect(Date.parse(output.votes[0].at)).not.toBeNaN()

    const late = await vote(server, waitId, 'approve', tokens.cat as string)
    expect(late.status, JSON.stringify(late.body)).toBe(409)
    expect(late.body.error?.code).toBe('approval_closed')
    const lateReject = await vote(server, waitId, 'reject', tokens.cat as string, 'too late')
    expect(lateReject.status).toBe(409)

    const events = (await api(server, 'GET', `/api/v1/runs/${run.id}/events`)).body.data as Json
    const voted = events.events.filter((e: Json) => e.type === 'approval.voted')
    expect(voted.map((e: Json) => e.actor)).toEqual(['U0ANN', 'U0BOB'])
    expect(voted.every((e: Json) => e.data.digest === output.digest)).toBe(true)
    const decided = events.events.find((e: Json) => e.type === 'approval.decided')
    expect(decided).toMatchObject({ data: { outcome: 'approved', digest: output.digest } })
  })

  it('lets the initiator approve where allow_self_approval is true', async () => {
    const run = await start('ap_self')
    const self = await vote(server, run.waiting_on.wait_id, 'approve', tokens.init as string)
    expect(self.status, JSON.stringify(self.body)).toBe(201)
    expect((self.body.data as Json).vote).toMatchObject({ recorded: true, outcome: 'approved' })
    const done = await runReaches(server, run.id, ['succeeded', 'failed'])
    expect(done.run.status).toBe('succeeded')
    expect(done.steps.find((s: Json) => s.step === 'review').output.votes[0].user).toBe('U0INIT')
  })

  it('a reject with a comment fails the run; a reject without one is refused', async () => {
    const run = await start('ap_quorum')
    const waitId: string = run.waiting_on.wait_id
    const bare = await vote(server, waitId, 'reject', tokens.cat as string)
    expect(bare.status, JSON.stringify(bare.body)).toBe(400)
    expect(bare.body.error?.code).toBe('comment_required')
    // A stored comment would read back cut at a NUL: such a vote is refused whole and records nothing.
    const nul = await vote(server, waitId, 'reject', tokens.cat as string, 'breaks\u0000 the build')
    expect(nul.status, JSON.stringify(nul.body)).toBe(400)
    expect(nul.body.error).toMatchObject({ code: 'invalid_body', message: expect.stringContaining('NUL') })
    expect((await vote(server, waitId, 'approve', tokens.ann as string)).status).toBe(201)

    const rejected = await vote(server, waitId, 'reject', tokens.cat as string, 'breaks the build')
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(201)
    expect((rejected.body.data as Json).vote.outcome).toBe('rejected')
    const done = await runReaches(server, run.id, ['failed', 'succeeded'])
    expect(done.run.status).toBe('failed')
    expect(done.run.error.code).toBe('approval_rejected')
    expect(done.run.error.message).toContain('breaks the build')
    expect(done.steps.some((s: Json) => s.step === 'after')).toBe(false)
    expect((await vote(server, waitId, 'approve', tokens.bob as string)).status).toBe(409)
  })

  it('an approver who changes their mind can still reject before the approval is decided', async () => {
    const run = await start('ap_quorum')
    const waitId: string = run.waiting_on.wait_id
    expect((await vote(server, waitId, 'approve', tokens.ann as string)).status).toBe(201)
    const rejected = await vote(server, waitId, 'reject', tokens.ann as string, 'found a bug after all')
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(201)
    expect((rejected.body.data as Json).vote).toMatchObject({ recorded: true, duplicate: false, outcome: 'rejected' })
    const done = await runReaches(server, run.id, ['failed', 'succeeded'])
    expect(done.run.error).toMatchObject({ code: 'approval_rejected' })
    expect(done.run.error.message).toContain('found a bug after all')
    // Both of ann's votes are on record, in the order cast.
    const votes = (done.steps.find((s: Json) => s.step === 'review').output.votes as Json[]).map((v) => [
      v.user,
      v.decision,
    ])
    expect(votes).toEqual([
      ['U0ANN', 'approve'],
      ['U0ANN', 'reject'],
    ])
  })

  it('request-changes loops back with a new approval; votes on the superseded one are refused', async () => {
    const run = await start('ap_loop')
    const firstWait: string = run.waiting_on.wait_id
    const firstShown = await showRun(server, run.id)
    expect(firstShown.wait.message).toBe('Patch v1')
    const firstDigest: string = firstShown.wait.digest

    const bare = await vote(server, firstWait, 'request-changes', tokens.ann as string)
    expect(bare.status).toBe(400)
    const changes = await vote(server, firstWait, 'request-changes', tokens.ann as string, 'rename the variable')
    expect(changes.status, JSON.stringify(changes.body)).toBe(201)
    expect((changes.body.data as Json).vote.outcome).toBe('changes_requested')

    const secondWait = await parkedApproval(server, run.id, firstWait)
    expect(secondWait).not.toBe(firstWait)
    const second = await showRun(server, run.id)
    expect(second.wait).toMatchObject({
      id: secondWait,
      step: 'review',
      visit: 2,
      message: 'Patch v2: rename the variable',
    })
    expect(second.wait.digest).not.toBe(firstDigest)
    expect(second.wait.votes).toEqual([])

    const stale = await vote(server, firstWait, 'approve', tokens.bob as string)
    expect(stale.status, JSON.stringify(stale.body)).toBe(409)
    expect(['approval_superseded', 'approval_closed']).toContain(stale.body.error?.code)
    const staleDigest = await api(
      server,
      'POST',
      `/api/v1/waits/${secondWait}/approve`,
      { digest: firstDigest },
      tokens.bob as string,
    )
    expect(staleDigest.status, JSON.stringify(staleDigest.body)).toBe(409)
    expect(staleDigest.body.error?.code).toBe('approval_superseded')
    expect((await showRun(server, run.id)).wait.votes).toEqual([])

    const approved = await vote(server, secondWait, 'approve', tokens.bob as string)
    expect(approved.status, JSON.stringify(approved.body)).toBe(201)
    const done = await runReaches(server, run.id, ['succeeded', 'failed'])
    expect(done.run.status).toBe('succeeded')
    expect(done.run.output).toBe('v2: rename the variable')
    const finished = await vote(server, secondWait, 'approve', tokens.ann as string)
    expect(finished.status).toBe(409)
    expect(finished.body.error?.code).toBe('approval_closed')
  })

  it('with Slack off and no approvers listed, any approvals:decide holder but the initiator may vote', async () => {
    // Started by a token without a Slack identity: its own vote is self-approval. The admin token has every scope
    // but approvals:decide, so it cannot vote at all.
    const byStarter = await start('ap_default', tokens.starter as string)
    expect(byStarter.initiator).toBe('token:starter')
    const waitId: string = byStarter.waiting_on.wait_id
    const self = await vote(server, waitId, 'approve', tokens.starter as string)
    expect(self.status, JSON.stringify(self.body)).toBe(403)
    expect(self.body.error?.code).toBe('self_approval')
    const admin = await vote(server, waitId, 'approve', server.token)
    expect(admin.status, JSON.stringify(admin.body)).toBe(403)
    expect(admin.body.error?.code).toBe('forbidden')
    const noScope = await vote(server, waitId, 'approve', tokens.agent as string)
    expect(noScope.status).toBe(403)
    expect(noScope.body.error?.code).toBe('forbidden')
    const anonymous = await vote(server, waitId, 'approve', tokens.bot as string)
    expect(anonymous.status, JSON.stringify(anonymous.body)).toBe(201)
    expect((await runReaches(server, byStarter.id, ['succeeded', 'failed'])).run.output).toBe('approved')

    // Started as U0INIT: U0OUT is not listed anywhere, yet is a default voter; U0INIT is not.
    const byInit = await start('ap_default')
    const initVote = await vote(server, byInit.waiting_on.wait_id, 'approve', tokens.init as string)
    expect(initVote.status).toBe(403)
    expect(initVote.body.error?.code).toBe('self_approval')
    const outVote = await vote(server, byInit.waiting_on.wait_id, 'approve', tokens.out as string)
    expect(outVote.status, JSON.stringify(outVote.body)).toBe(201)
    const done = await runReaches(server, byInit.id, ['succeeded', 'failed'])
    expect(done.steps.find((s: Json) => s.step === 'review').output.votes.map((v: Json) => v.user)).toEqual(['U0OUT'])
  })

  it('a double click records one vote; simultaneous deciding votes decide once', async () => {
    const run = await start('ap_quorum')
    const waitId: string = run.waiting_on.wait_id
    const clicks = await Promise.all(
      Array.from({ length: 6 }, () => vote(server, waitId, 'approve', tokens.ann as string)),
    )
    expect(clicks.map((c) => c.status).sort()).toEqual([200, 200, 200, 200, 200, 201])
    expect(clicks.filter((c) => (c.body.data as Json)?.vote.recorded)).toHaveLength(1)

    const both = await Promise.all([
      vote(server, waitId, 'approve', tokens.bob as string),
      vote(server, waitId, 'approve', tokens.cat as string),
    ])
    const statuses = both.map((b) => b.status).sort()
    // One of them completes the quorum; the other either lands first or finds the approval decided.
    expect([
      [201, 201],
      [201, 409],
    ]).toContainEqual(statuses)
    const done = await runReaches(server, run.id, ['succeeded', 'failed'])
    expect(done.run.status).toBe('succeeded')
    const events = ((await api(server, 'GET', `/api/v1/runs/${run.id}/events`)).body.data as Json).events as Json[]
    expect(events.filter((e) => e.type === 'approval.decided')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'step.succeeded' && e.step === 'review')).toHaveLength(1)
    const voters = done.steps.find((s: Json) => s.step === 'review').output.votes.map((v: Json) => v.user)
    expect(voters[0]).toBe('U0ANN')
    expect(voters).toHaveLength(2)
  })

  it('escalation adds voters after its delay', async () => {
    const run = await start('ap_escalate')
    const waitId: string = run.waiting_on.wait_id
    const early = await vote(server, waitId, 'approve', tokens.esc as string)
    expect(early.status, JSON.stringify(early.body)).toBe(403)
    expect(early.body.error?.code).toBe('not_eligible')
    clock.advance(31 * 60_000)
    await eventually(
      async () => {
        const events = ((await api(server, 'GET', `/api/v1/runs/${run.id}/events`)).body.data as Json).events as Json[]
        return events.find((e) => e.type === 'approval.escalated')
      },
      () => 'the approval to escalate',
    )
    const escalated = await vote(server, waitId, 'approve', tokens.esc as string)
    expect(escalated.status, JSON.stringify(escalated.body)).toBe(201)
    expect((escalated.body.data as Json).vote.outcome).toBe('approved')
    expect((await runReaches(server, run.id, ['succeeded', 'failed'])).run.status).toBe('succeeded')
  })

  it('answers 404 for an unknown wait and for a vote on a non-approval wait', async () => {
    const unknown = await vote(server, 'wait_01J00000000000000000000000', 'approve', tokens.ann as string)
    expect(unknown.status).toBe(404)
    const weird = await vote(server, 'nope', 'maybe', tokens.ann as string)
    expect(weird.status).toBe(404)
  })
})
