// Slack HTTP mode: clicks that must change nothing (self-approval, an outsider, a superseded revision) each get an
// ephemeral answer; a double click and a Slack redelivery of the same action record one vote.
import { describe, expect, it } from 'vitest'
import {
  buildBlockActionPayload,
  encodeForm,
  type FakeSlack,
  FORM,
  type StoredMessage,
} from '../support/fake-slack/index.ts'
import { api } from '../support/server.ts'
import { blocksOf, useSlackHarness } from '../support/slack-harness.ts'

const SECRET = 'e2e-refusals-secret'
const CHANNEL = 'C0REF'
const USERS = ['U0INIT', 'U0ANN', 'U0BOB', 'U0OUT']

// The initiator is listed as an approver too; allow_self_approval stays false (the default).
const SELF_FLOW = `slug: self_check
name: Self-approval check
steps:
  - id: review
    approval:
      message: "*Self check* needs two approvals"
      approvers: { users: [U0INIT, U0ANN, U0BOB] }
      required: 2
      allow_self_approval: false
  - id: done
    notify: { text: "self check done" }
`

// Request changes loops back to \`draft\`, which shows a new revision (the reviewer's comment is part of it).
const LOOP_FLOW = `slug: loop_check
name: Changes loop
steps:
  - id: draft
    transform: "Draft revision. Notes: {{ steps.review.output.comment }}"
  - id: review
    approval:
      message: "*Loop draft*: {{ steps.draft.output }}"
      approvers: { users: [U0ANN, U0BOB] }
      required: 1
      on:
        changes_requested: { goto: draft }
  - id: done
    notify: { text: "loop done" }
`

interface Vote {
  user: string
  decision: string
  digest: string
  comment: string | null
}
interface WaitBody {
  id: string
  step: string
  visit: number
  status: string
  digest: string
  votes: Vote[]
  tally: { approvals: number }
}

describe('Slack refusals and duplicate clicks (HTTP mode)', () => {
  const slack = useSlackHarness({
    users: USERS,
    channel: CHANNEL,
    channelName: 'refusals',
    flows: [SELF_FLOW, LOOP_FLOW],
    env: {},
    secret: SECRET,
  })

  /** Starts a run with /gl run as U0INIT and returns its id and card. */
  async function startFromSlack(slug: string): Promise<{ runId: string; card: StoredMessage }> {
    const started = await slack.driver.slashCommand({ text: `run ${slug}`, user_id: 'U0INIT', channel_id: CHANNEL })
    expect(started.status).toBe(200)
    const runId = /run_[0-9A-Za-z]+/.exec(JSON.stringify(started.body))?.[0]
    expect(runId, JSON.stringify(started.body)).toBeDefined()
    const card = await slack.fake.waitFor(
      (f) => f.messages(CHANNEL).find((m) => !m.thread_ts && blocksOf(m).includes(runId as string)),
      10_000,
    )
    return { runId: runId as string, card }
  }

  const approvalsIn = (f: FakeSlack, card: StoredMessage): StoredMessage[] =>
    f.thread(CHANNEL, card.ts).filter((m) => blocksOf(m).includes('Approval requested'))

  async function waitsOf(runId: string): Promise<WaitBody[]> {
    const res = await api(slack.server, 'GET', `/api/v1/waits?run=${runId}&status=all&kind=approval`)
    expect(res.status).toBe(200)
    return (res.body.data as unknown as { waits: WaitBody[] }).waits
  }

  async function runStatus(runId: string): Promise<string> {
    const res = await api(slack.server, 'GET', `/api/v1/runs/${runId}?view=brief`)
    return (res.body.data as unknown as { run: { status: string } }).run.status
  }

  const click = (user: string, message: StoredMessage, actionId = 'gl_approve') =>
    slack.driver.blockAction({ user, action_id: actionId, channel: CHANNEL, message_ts: message.ts })

  it("refuses the initiator's own approval and an outsider's click with an ephemeral message, changing nothing", async () => {
    const { runId, card } = await startFromSlack('self_check')
    const approval = await slack.fake.waitFor(
      (f) => approvalsIn(f, card).find((m) => blocksOf(m).includes('gl_approve')),
      10_000,
    )
    const [wait] = await waitsOf(runId)
    expect(wait?.status).toBe('open')
    const updatesBefore = slack.fake.message(CHANNEL, approval.ts)?.history.length

    const self = await click('U0INIT', approval)
    expect(self.status).toBe(200)
    const selfNote = await slack.fake.waitFor((f) => f.ephemerals('U0INIT').at(-1), 10_000)
    expect(selfNote.text).toMatch(/started this run|yourself/i)
    expect(selfNote.via).toBe('chat.postEphemeral')
    expect(selfNote.channel).toBe(CHANNEL)

    const outsider = await click('U0OUT', approval)
    expect(outsider.status).toBe(200)
    const outNote = await slack.fake.waitFor((f) => f.ephemerals('U0OUT').at(-1), 10_000)
    expect(outNote.text).toMatch(/not one of the approvers/i)
    expect(outNote.via).toBe('chat.postEphemeral')

    const [after] = await waitsOf(runId)
    expect(after?.status).toBe('open')
    expect(after?.votes).toEqual([])
    expect(after?.tally.approvals).toBe(0)
    expect(await runStatus(runId)).toBe('waiting')
    const events = await api(slack.server, 'GET', `/api/v1/runs/${runId}/events`)
    const types = (events.body.data as unknown as { events: { type: string }[] }).events.map((e) => e.type)
    expect(types).not.toContain('approval.voted')
    // The approval message is untouched: still open, same version.
    expect(blocksOf(slack.fake.message(CHANNEL, approval.ts))).toContain('gl_approve')
    expect(slack.fake.message(CHANNEL, approval.ts)?.history.length).toBe(updatesBefore)
    expect(slack.fake.ephemerals('U0ANN')).toEqual([])
  })

  it('records one vote for a double click and for a redelivered action (X-Slack-Retry-Num: 1)', async () => {
    const { runId, card } = await startFromSlack('self_check')
    const approval = await slack.fake.waitFor(
      (f) => approvalsIn(f, card).find((m) => blocksOf(m).includes('gl_approve')),
      10_000,
    )

    // A double click: two separate block_actions for the same button, sent together.
    const [a, b] = await Promise.all([click('U0ANN', approval), click('U0ANN', approval)])
    expect(a.status).toBe(200)
    expect(b.status).toBe(200)
    // Slack redelivers the very same payload when the first delivery timed out.
    const payload = buildBlockActionPayload(
      { user: 'U0ANN', action_id: 'gl_approve', channel: CHANNEL, message_ts: approval.ts },
      { fake: slack.fake },
    )
    const raw = encodeForm({ payload: JSON.stringify(payload) })
    expect((await slack.driver.post(raw, FORM)).status).toBe(200)
    expect((await slack.driver.post(raw, FORM, { retryNum: 1, retryReason: 'http_timeout' })).status).toBe(200)

    const [wait] = await waitsOf(runId)
    expect(wait?.votes.map((v) => v.user)).toEqual(['U0ANN'])
    expect(wait?.tally.approvals).toBe(1)
    expect(wait?.status).toBe('open')
    expect(await runStatus(runId)).toBe('waiting')
    const events = await api(slack.server, 'GET', `/api/v1/runs/${runId}/events`)
    const voted = (events.body.data as unknown as { events: { type: string }[] }).events.filter(
      (e) => e.type === 'approval.voted',
    )
    expect(voted).toHaveLength(1)
    await slack.fake.waitFor((f) => blocksOf(f.message(CHANNEL, approval.ts)).includes('1 of 2 approvals'), 10_000)

    // The second approver completes the quorum: the duplicates did not count twice, the run goes on.
    expect((await click('U0BOB', approval)).status).toBe(200)
    const show = await api(slack.server, 'GET', `/api/v1/runs/${runId}?settle=ended&timeout_ms=10000`)
    expect((show.body.data as unknown as { run: { status: string } }).run.status).toBe('succeeded')
  })

  it('never shows an outcome the votes did not reach, not even in an intermediate update of the approval message', async () => {
    const outcomes: Record<string, string[]> = {}
    for (const [action, reason] of [
      ['gl_request_changes', 'Please add a test'],
      ['gl_reject', 'Not this week'],
    ] as const) {
      const { card } = await startFromSlack('loop_check')
      const approval = await slack.fake.waitFor(
        (f) => approvalsIn(f, card).find((m) => blocksOf(m).includes('gl_approve')),
        10_000,
      )
      const viewsBefore = slack.fake.views.length
      expect((await click('U0BOB', approval, action)).status).toBe(200)
      const modal = await slack.fake.waitFor(
        (f) => f.views.slice(viewsBefore).find((v) => v.callback_id === 'gl_reason'),
        10_000,
      )
      const submitted = await slack.driver.viewSubmission({
        user: 'U0BOB',
        view: {
          id: modal.id,
          callback_id: 'gl_reason',
          private_metadata: modal.private_metadata,
          state: { values: { reason: { reason } } },
        },
      })
      expect(submitted.status).toBe(200)
      const label = action === 'gl_reject' ? 'Rejected' : 'Changes requested'
      await slack.fake.waitFor((f) => blocksOf(f.message(CHANNEL, approval.ts)).includes(label), 10_000)
      // Every version Slack showed, oldest first (the fake keeps each chat.update).
      outcomes[action] = (slack.fake.message(CHANNEL, approval.ts)?.history ?? []).map(
        (v) => `${v.text} | ${JSON.stringify(v.blocks ?? [])}`,
      )
    }
    // A quorum of two: every version that says Approved names both approvers.
    const { runId, card } = await startFromSlack('self_check')
    const approval = await slack.fake.waitFor(
      (f) => approvalsIn(f, card).find((m) => blocksOf(m).includes('gl_approve')),
      10_000,
    )
    expect((await click('U0ANN', approval)).status).toBe(200)
    expect((await click('U0BOB', approval)).status).toBe(200)
    const ended = await api(slack.server, 'GET', `/api/v1/runs/${runId}?settle=ended&timeout_ms=10000&view=brief`)
    expect((ended.body.data as unknown as { run: { status: string } }).run.status).toBe('succeeded')
    await slack.fake.waitFor((f) => {
      const json = blocksOf(f.message(CHANNEL, approval.ts))
      return json.includes('Approved') && json.includes('<@U0ANN>') && json.includes('<@U0BOB>')
    }, 10_000)
    const approvedVersions = (slack.fake.message(CHANNEL, approval.ts)?.history ?? [])
      .map((v) => JSON.stringify(v.blocks ?? []))
      .filter((json) => json.includes('*Approved*'))
    for (const json of approvedVersions) {
      const line = /✅ \*Approved\*[^"]*/.exec(json)?.[0] ?? json
      expect(line).toContain('<@U0ANN>')
      expect(line).toContain('<@U0BOB>')
    }

    for (const [action, versions] of Object.entries(outcomes)) {
      const approved = versions.filter((v) => v.includes('Approved') || v.includes('Approval approved'))
      expect(approved, `${action}: ${versions.map((v) => v.slice(0, 80)).join('\n')}`).toEqual([])
    }
  })

  it('refuses Approve on a superseded approval after a request-changes through the reason modal', async () => {
    const { runId, card } = await startFromSlack('loop_check')
    const oldApproval = await slack.fake.waitFor(
      (f) => approvalsIn(f, card).find((m) => blocksOf(m).includes('gl_approve')),
      10_000,
    )
    // The Approve button of the old message, kept to click it once its buttons are gone.
    const approveBlock = (oldApproval.blocks ?? []).find((b) => JSON.stringify(b).includes('gl_approve')) as {
      block_id?: string
      elements: { action_id: string; value: string }[]
    }
    const approveValue = approveBlock.elements.find((e) => e.action_id === 'gl_approve')?.value as string
    expect(approveValue).toBeDefined()

    // Request changes opens the reason modal…
    const viewsBefore = slack.fake.views.length
    expect((await click('U0BOB', oldApproval, 'gl_request_changes')).status).toBe(200)
    const modal = await slack.fake.waitFor(
      (f) => f.views.slice(viewsBefore).find((v) => v.callback_id === 'gl_reason' && v.type === 'modal'),
      10_000,
    )
    expect(slack.fake.callsTo('views.open').length).toBeGreaterThan(0)
    // …and submitting it with a reason records the request; the flow loops back to `draft`.
    const submitted = await slack.driver.viewSubmission({
      user: 'U0BOB',
      view: {
        id: modal.id,
        callback_id: 'gl_reason',
        private_metadata: modal.private_metadata,
        // A NUL in the text is dropped, not left to cut the stored comment short.
        state: { values: { reason: { reason: 'Rename the\u0000 flag please' } } },
      },
    })
    expect(submitted.status).toBe(200)
    expect(submitted.text).not.toContain('errors')

    const newApproval = await slack.fake.waitFor(
      (f) =>
        approvalsIn(f, card).find(
          (m) =>
            m.ts !== oldApproval.ts && blocksOf(m).includes('gl_approve') && blocksOf(m).includes('Rename the flag'),
        ),
      10_000,
    )
    const waits = await waitsOf(runId)
    expect(waits).toHaveLength(2)
    const oldWait = waits.find((w) => w.visit === 1) as WaitBody
    const newWait = waits.find((w) => w.visit === 2) as WaitBody
    expect(oldWait.votes.map((v) => [v.user, v.decision, v.comment])).toEqual([
      ['U0BOB', 'request_changes', 'Rename the flag please'],
    ])
    expect(newWait.status).toBe('open')
    expect(newWait.digest).not.toBe(oldWait.digest)
    // The old message no longer offers buttons, and says it was superseded (not merely "changes requested").
    await slack.fake.waitFor((f) => !blocksOf(f.message(CHANNEL, oldApproval.ts)).includes('gl_approve'), 10_000)
    await slack.fake.waitFor(
      (f) => /superseded by a newer revision/i.test(blocksOf(f.message(CHANNEL, oldApproval.ts))),
      10_000,
    )

    // Approve on the OLD message (the button value Slack would still send from a stale client).
    const stale = await slack.driver.blockAction({
      user: 'U0ANN',
      action_id: 'gl_approve',
      channel: CHANNEL,
      message_ts: oldApproval.ts,
      // Slack gives an actions block without a block_id a random one.
      block_id: approveBlock.block_id ?? 'b1Xq',
      value: approveValue,
    })
    expect(stale.status).toBe(200)
    const note = await slack.fake.waitFor((f) => f.ephemerals('U0ANN').at(-1), 10_000)
    expect(note.text).toMatch(/newer revision|superseded/i)
    expect(note.via).toBe('chat.postEphemeral')

    const after = await waitsOf(runId)
    const oldAfter = after.find((w) => w.visit === 1) as WaitBody
    const newAfter = after.find((w) => w.visit === 2) as WaitBody
    expect(oldAfter.votes).toHaveLength(1)
    expect(newAfter.votes).toEqual([])
    expect(newAfter.status).toBe('open')
    expect(await runStatus(runId)).toBe('waiting')
    expect(blocksOf(slack.fake.message(CHANNEL, newApproval.ts))).toContain('gl_approve')
    expect(blocksOf(slack.fake.message(CHANNEL, newApproval.ts))).toContain('0 of 1 approval')
  })
})
