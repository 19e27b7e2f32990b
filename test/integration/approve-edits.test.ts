// Approve with edits (SPEC §4) through the API: the draft an approval opens with, an edit that makes a new revision
// (new digest, earlier votes void), a quorum of two where the second approves the edited version, the old digest
// refused, the output's `edited`, the run events, bad edits refused without change, and randomized values; then the
// same in Slack (fake Slack, signed requests): the Edit & approve form, its submission, the updated message, a restart.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { type RunningServer, startServer } from '../../src/main.ts'
import { runCli } from '../support/cli.ts'
import { shiftedClock } from '../support/clock.ts'
import { createFakeSlack, createSlackDriver, type FakeSlack, type StoredMessage } from '../support/fake-slack/index.ts'
import { createRandom, fuzzSeed } from '../support/fuzz-env.ts'
import { type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'
import { blocksOf } from '../support/slack-harness.ts'

const DRAFT_FLOW = `slug: edit_reply
inputs:
  ticket: { type: string, required: true }
steps:
  - id: draft
    transform: "{{ 'Hello, about ' & inputs.ticket & ': we are on it.' }}"
  - id: review
    approval:
      message: "Send this reply to {{ inputs.ticket }}?"
      approvers: { users: [U0ANN, U0BOB, U0CAT] }
      required: 2
      edit:
        fields:
          reply: { type: textarea, label: Reply to the customer, value: "{{ steps.draft.output }}" }
          subject: { value: "Re: {{ inputs.ticket }}" }
  - id: send
    transform: "{{ steps.review.output.edited }}"
`

const TIMEOUT_FLOW = `slug: edit_timeout
steps:
  - id: review
    approval:
      message: "Post this?"
      approvers: { users: [U0ANN, U0BOB] }
      required: 2
      timeout: 1h
      on: { timed_out: continue }
      edit:
        fields:
          text: { value: "draft" }
`

const SINGLE_FLOW = `slug: edit_single
steps:
  - id: review
    approval:
      message: "Run this command?"
      approvers: { users: [U0ANN, U0BOB] }
      edit:
        fields:
          command: { value: "rm -rf /tmp/build" }
`

const vote = (server: TestServer, waitId: string, body: Record<string, unknown>, token: string, decision = 'approve') =>
  api(server, 'POST', `/api/v1/waits/${waitId}/${decision}`, body, token)

// The approval timeout falls due when the test moves this clock.
const clock = shiftedClock()

describe('approve with edits through the API', () => {
  let server: TestServer
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    server = await startTestServer({}, { clock })
    await pushRelease(server, DRAFT_FLOW)
    await pushRelease(server, TIMEOUT_FLOW)
    await pushRelease(server, SINGLE_FLOW)
    tokens.init = (await mintToken(server, 'init', ['runs:write', 'runs:read'], 'U0INIT')).secret
    for (const user of ['ANN', 'BOB', 'CAT'])
      tokens[user.toLowerCase()] = (await mintToken(server, user, ['approvals:decide'], `U0${user}`)).secret
  })
  afterAll(async () => server.close())

  async function parked(flow: string, inputs: Record<string, unknown> = {}): Promise<{ runId: string; wait: Json }> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs, wait: true }, tokens.init)
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const run = (started.body.data as Json).run
    expect(run.status).toBe('waiting')
    const wait = await api(server, 'GET', `/api/v1/waits/${run.waiting_on.wait_id}`)
    return { runId: run.id, wait: (wait.body.data as Json).wait }
  }

  it('opens with the rendered drafts; an edit is a new revision the second voter approves; old digests are refused', async () => {
    const { runId, wait } = await parked('edit_reply', { ticket: 'T-42' })
    expect(wait.edit).toMatchObject({
      revision: 0,
      fields: [
        {
          name: 'reply',
          type: 'textarea',
          label: 'Reply to the customer',
          value: 'Hello, about T-42: we are on it.',
          was_edited: false,
        },
        { name: 'subject', type: 'text', label: null, value: 'Re: T-42', was_edited: false },
      ],
    })
    const draftDigest: string = wait.digest

    // Cat approves the draft as it is; then Ann corrects the reply and approves: Cat's vote is void.
    expect((await vote(server, wait.id, { digest: draftDigest }, tokens.cat as string)).status).toBe(201)
    const edited = await vote(
      server,
      wait.id,
      { digest: draftDigest, edits: { reply: 'Hello, about T-42: fixed in 1.2.3.', subject: 'Re: T-42' } },
      tokens.ann as string,
    )
    expect(edited.status, JSON.stringify(edited.body)).toBe(201)
    const editedVote = (edited.body.data as Json).vote
    expect(editedVote).toMatchObject({ recorded: true, outcome: null, edited: ['reply'], tally: { approvals: 1 } })
    expect(editedVote.digest).not.toBe(draftDigest)
    expect(editedVote.tally.approvers).toEqual(['U0ANN'])

    const shown = (await api(server, 'GET', `/api/v1/waits/${wait.id}`)).body.data as Json
    expect(shown.wait.digest).toBe(editedVote.digest)
    expect(shown.wait.edit.revision).toBe(1)
    expect(shown.wait.edit.fields[0]).toMatchObject({
      value: 'Hello, about T-42: fixed in 1.2.3.',
      original: 'Hello, about T-42: we are on it.',
      was_edited: true,
      edited_by: 'U0ANN',
    })
    expect(shown.wait.edit.history).toMatchObject([
      { by: 'U0ANN', fields: ['reply'], replaced: draftDigest, digest: editedVote.digest },
    ])
    expect(shown.wait.tally).toMatchObject({ approvals: 1, approvers: ['U0ANN'] })

    // Bob looked at the draft: his vote on the old digest is refused, and says why.
    const stale = await vote(server, wait.id, { digest: draftDigest }, tokens.bob as string)
    expect(stale.status, JSON.stringify(stale.body)).toBe(409)
    expect(stale.body.error?.code).toBe('approval_superseded')
    expect(stale.body.error?.message).toContain('edited (reply) by U0ANN')
    // Cat's earlier approval of the draft counted for nothing: one approval still.
    expect(((await api(server, 'GET', `/api/v1/waits/${wait.id}`)).body.data as Json).wait.tally.approvals).toBe(1)

    // Bob approves the edited version: the quorum of two on the edited digest.
    const second = await vote(server, wait.id, { digest: editedVote.digest }, tokens.bob as string)
    expect(second.status, JSON.stringify(second.body)).toBe(201)
    expect((second.body.data as Json).vote).toMatchObject({ outcome: 'approved', digest: editedVote.digest })

    const done = await runReaches(server, runId, ['succeeded', 'failed'])
    expect(done.run.status).toBe('succeeded')
    const output = done.steps.find((s: Json) => s.step === 'review').output
    expect(output.digest).toBe(editedVote.digest)
    expect(output.edited).toEqual({
      reply: { value: 'Hello, about T-42: fixed in 1.2.3.', was_edited: true },
      subject: { value: 'Re: T-42', was_edited: false },
    })
    expect(output.votes.map((v: Json) => v.user)).toEqual(['U0ANN', 'U0BOB'])
    expect(done.run.output).toEqual(output.edited)

    const events = await runEvents(server, runId)
    const editEvent = events.find((e: Json) => e.type === 'approval.edited')
    expect(editEvent).toMatchObject({
      actor: 'U0ANN',
      data: {
        wait_id: wait.id,
        revision: 1,
        fields: { reply: 'Hello, about T-42: fixed in 1.2.3.' },
        previous_digest: draftDigest,
        digest: editedVote.digest,
        voided_approvals: 1,
      },
    })
    const voted = events.filter((e: Json) => e.type === 'approval.voted')
    expect(voted.map((e: Json) => [e.actor, e.data.digest === draftDigest ? 'draft' : 'edited'])).toEqual([
      ['U0CAT', 'draft'],
      ['U0ANN', 'edited'],
      ['U0BOB', 'edited'],
    ])
  })

  it('treats unchanged edits as a plain approve, and reports was_edited false when nobody edited', async () => {
    const { runId, wait } = await parked('edit_single')
    const same = await vote(server, wait.id, { edits: { command: 'rm -rf /tmp/build' } }, tokens.ann as string)
    expect(same.status, JSON.stringify(same.body)).toBe(201)
    expect((same.body.data as Json).vote).toMatchObject({ outcome: 'approved', digest: wait.digest })
    expect((same.body.data as Json).vote.edited).toBeUndefined()
    const done = await runReaches(server, runId, ['succeeded', 'failed'])
    const output = done.steps.find((s: Json) => s.step === 'review').output
    expect(output.edited).toEqual({ command: { value: 'rm -rf /tmp/build', was_edited: false } })
    expect(output.digest).toBe(wait.digest)
    expect((await runEvents(server, runId)).some((e: Json) => e.type === 'approval.edited')).toBe(false)
  })

  it('lets only the first of two editors who saw the same revision make the next one', async () => {
    const { wait } = await parked('edit_reply', { ticket: 'T-5' })
    const [a, b] = await Promise.all([
      vote(server, wait.id, { digest: wait.digest, edits: { reply: 'from Ann' } }, tokens.ann as string),
      vote(server, wait.id, { digest: wait.digest, edits: { reply: 'from Bob' } }, tokens.bob as string),
    ])
    const statuses = [a.status, b.status].sort()
    expect(statuses, JSON.stringify([a.body, b.body])).toEqual([201, 409])
    const loser = a.status === 409 ? a : b
    expect(loser.body.error?.code).toBe('approval_superseded')
    const shown = ((await api(server, 'GET', `/api/v1/waits/${wait.id}`)).body.data as Json).wait
    expect(shown.edit.revision).toBe(1)
    expect(shown.edit.fields[0].value).toBe(a.status === 201 ? 'from Ann' : 'from Bob')
    expect(shown.tally.approvals).toBe(1)
  })

  it('refuses bad edits with a clear error and changes nothing', async () => {
    const { runId, wait } = await parked('edit_single')
    const cases: [Record<string, unknown>, string, number, string?][] = [
      [{ edits: { nope: 'x' } }, 'invalid_edits', 400],
      [{ edits: { command: 42 } }, 'invalid_edits', 400],
      [{ edits: ['command'] }, 'invalid_edits', 400],
      [{ edits: 'command=ls' }, 'invalid_edits', 400],
      [{ edits: { command: 'x'.repeat(20_001) } }, 'edit_too_large', 400],
      [{ edits: { command: 'ls' }, comment: 'no' }, 'invalid_edits', 400, 'reject'],
      [{ edits: { command: 'ls' } }, 'self_approval', 403],
    ]
    for (const [body, code, status, decision] of cases) {
      const token = code === 'self_approval' ? tokens.init : tokens.ann
      const refused = await vote(server, wait.id, body, token as string, decision)
      expect(refused.status, `${JSON.stringify(body).slice(0, 80)} → ${JSON.stringify(refused.body)}`).toBe(
        code === 'self_approval' ? 403 : status,
      )
      if (code !== 'self_approval') expect(refused.body.error?.code).toBe(code)
    }
    const after = (await api(server, 'GET', `/api/v1/waits/${wait.id}`)).body.data as Json
    expect(after.wait).toMatchObject({ status: 'open', digest: wait.digest, edit: { revision: 0 } })
    expect(after.wait.votes).toEqual([])
    expect((await showRun(server, runId)).run.status).toBe('waiting')
  })

  it('reports the edited values as they stood when nobody completed the quorum in time', async () => {
    const { runId, wait } = await parked('edit_timeout')
    expect((await vote(server, wait.id, { edits: { text: 'better' } }, tokens.ann as string)).status).toBe(201)
    clock.advance(61 * 60_000)
    const done = await runReaches(server, runId, ['succeeded', 'failed', 'timed_out'])
    const output = done.steps.find((s: Json) => s.step === 'review').output
    expect(output).toMatchObject({ decision: 'timed_out', approvals: 1 })
    expect(output.edited).toEqual({ text: { value: 'better', was_edited: true } })
  })

  it('masks a secret an approver types into an edit, in the output, the wait and the events', async () => {
    const secret = 'sk-live-9f8e7d6c5b4a'
    expect((await api(server, 'PUT', '/api/v1/secrets/helpdesk_key', { value: secret })).status).toBe(201)
    const { runId, wait } = await parked('edit_single')
    const cast = await vote(server, wait.id, { edits: { command: `curl -H "key: ${secret}" x` } }, tokens.ann as string)
    expect(cast.status, JSON.stringify(cast.body)).toBe(201)
    const done = await runReaches(server, runId, ['succeeded', 'failed'])
    const output = done.steps.find((s: Json) => s.step === 'review').output
    expect(output.edited.command).toEqual({ value: 'curl -H "key: ***" x', was_edited: true })
    const everything = JSON.stringify([
      done,
      await runEvents(server, runId),
      (await api(server, 'GET', `/api/v1/waits/${wait.id}`)).body,
    ])
    expect(everything).toContain('approval.edited')
    expect(everything).not.toContain(secret)
  })

  it('approves with edits from the CLI: --edit name=value and --edits-file, with usage errors exiting 2', async () => {
    const { runId, wait } = await parked('edit_reply', { ticket: 'T-9' })
    const cli = (args: string[], token: string, input?: string) =>
      runCli(args, { env: { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: token }, ...(input ? { input } : {}) })

    const shown = await cli(['waits', 'show', wait.id], tokens.ann as string)
    expect(shown.json.meta.next).toContain(`greenlight waits approve ${wait.id} --edit reply="…"`)
    for (const [args, code] of [
      [['--edit', 'reply'], 'invalid_usage'],
      [['--edit', 'reply=a', '--edit', 'reply=b'], 'invalid_usage'],
      [['--edits-file', 'no/such/file.json'], 'file_unreadable'],
      [['--edit', 'nope=x'], 'invalid_edits'],
    ] as const) {
      const refused = await cli(['waits', 'approve', wait.id, ...args], tokens.ann as string)
      expect(refused.code, refused.stdout).toBe(2)
      expect(refused.json.error.code).toBe(code)
    }
    const onReject = await cli(
      ['waits', 'reject', wait.id, '--comment', 'no', '--edit', 'reply=x'],
      tokens.ann as string,
    )
    expect(onReject.code).toBe(2)
    expect(onReject.json.error.code).toBe('unknown_flag')

    const edited = await cli(
      ['waits', 'approve', wait.id, '--edit', 'reply=a=b, c', '--edit', 'subject='],
      tokens.ann as string,
    )
    expect(edited.code, edited.stdout).toBe(0)
    expect(edited.json.data.vote).toMatchObject({ recorded: true, edited: ['reply', 'subject'], outcome: null })
    expect(edited.json.meta.note).toContain('no longer count')

    // Bob corrects it once more from a file on stdin: that voids Ann's approve of the previous revision, so one
    // approval (his) stands and Cat's plain approve completes the quorum on his version.
    const again = await cli(
      ['waits', 'approve', wait.id, '--edits-file', '-'],
      tokens.bob as string,
      '{"reply": "final ✅"}',
    )
    expect(again.code, again.stdout).toBe(0)
    expect(again.json.data.vote).toMatchObject({ edited: ['reply'], outcome: null, tally: { approvals: 1 } })
    const last = await cli(['waits', 'approve', wait.id], tokens.cat as string)
    expect(last.json.data.vote.outcome).toBe('approved')
    const done = await runReaches(server, runId, ['succeeded', 'failed'])
    expect(done.steps.find((s: Json) => s.step === 'review').output.edited).toEqual({
      reply: { value: 'final ✅', was_edited: true },
      subject: { value: '', was_edited: true },
    })
  })

  it('round-trips randomized values (unicode, long, empty, control characters) without a crash', async () => {
    const random = createRandom(fuzzSeed(0xed17))
    const pieces = [
      '',
      ' ',
      '\n',
      'é',
      '漢字',
      '🚀',
      '\u0000',
      '\u200b',
      '"',
      '\\',
      '{{ x }}',
      '<@U0ANN>',
      '*b*',
      '\r\n',
    ]
    for (let i = 0; i < 6; i++) {
      const { runId, wait } = await parked('edit_single')
      const length = i === 0 ? 0 : random.int(i === 5 ? 19_000 : 300)
      let value = ''
      while (value.length < length) value += random.pick(pieces)
      value = value.slice(0, 20_000)
      const cast = await vote(server, wait.id, { edits: { command: value } }, tokens.bob as string)
      expect(cast.status, JSON.stringify(cast.body).slice(0, 300)).toBe(201)
      const done = await runReaches(server, runId, ['succeeded', 'failed'])
      const output = done.steps.find((s: Json) => s.step === 'review').output
      expect(output.edited.command.value).toBe(value)
      expect(output.edited.command.was_edited).toBe(value !== 'rm -rf /tmp/build')
    }
  })
})

const SLACK_SECRET = 'edits-signing-secret'
const CHANNEL = 'C0EDITS'
const SLACK_USERS = ['U0INIT', 'U0ANN', 'U0BOB', 'U0CAT', 'U0OUT']

const SLACK_FLOW = `slug: edit_slack
inputs:
  ticket: { type: string, required: true }
  log: { type: string, required: true }
steps:
  - id: draft
    transform: "{{ 'Dear customer, ticket ' & inputs.ticket & ' is fixed.' }}"
  - id: review
    approval:
      message: "*EDIT-REVIEW* reply to {{ inputs.ticket }}"
      approvers: { users: [U0INIT, U0ANN, U0BOB, U0CAT] }
      required: 2
      edit:
        fields:
          reply: { type: textarea, label: Reply to the customer, value: "{{ steps.draft.output }}" }
          log: { type: textarea, value: "{{ inputs.log }}" }
  - id: done
    notify: { text: "EDIT-DONE {{ steps.review.output.edited.reply.value }}" }
`

/** A Greenlight server on a data directory it keeps when it stops, so a second one can take over. */
async function startOn(dataDir: string, apiUrl: string): Promise<RunningServer & { token: string }> {
  const env = {
    GREENLIGHT_DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'silent',
    SLACK_BOT_TOKEN: 'xoxb-edits',
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_API_URL: apiUrl,
    GREENLIGHT_DEFAULT_CHANNEL: CHANNEL,
  }
  const running = await startServer(loadConfig(env))
  return { ...running, token: readFileSync(join(dataDir, 'cli-token'), 'utf8').trim() }
}

const text = (value: string) => ({ type: 'plain_text_input', value })

/** The value of the button `actionId` on a message. */
function buttonValue(message: StoredMessage, actionId: string): string {
  for (const block of (message.blocks ?? []) as { elements?: { action_id?: string; value?: string }[] }[]) {
    const found = block.elements?.find((e) => e.action_id === actionId)
    if (found?.value) return found.value
  }
  throw new Error(`no ${actionId} button on the message`)
}

describe('approve with edits in Slack (HTTP mode), across a restart', () => {
  let fake: FakeSlack
  let dataDir: string
  let server: (RunningServer & { token: string }) | undefined

  beforeAll(async () => {
    fake = await createFakeSlack({
      users: SLACK_USERS.map((id) => ({ id, name: id.toLowerCase() })),
      channels: { [CHANNEL]: { name: 'edits', members: SLACK_USERS } },
    })
    dataDir = mkdtempSync(join(tmpdir(), 'greenlight-edits-'))
  })
  afterAll(async () => {
    await server?.close()
    await fake?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('prefills the form, counts the edited version, refuses the old one, and keeps the revision over a restart', async () => {
    server = await startOn(dataDir, fake.apiUrl)
    await pushRelease(server, SLACK_FLOW)
    const init = (await mintToken(server, 'init', ['runs:write', 'runs:read'], 'U0INIT')).secret
    const log = Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n')
    expect(log.length).toBeGreaterThan(3000)
    const started = await api(
      server,
      'POST',
      '/api/v1/runs',
      { flow: 'edit_slack', inputs: { ticket: 'T-7', log } },
      init,
    )
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const runId = (started.body.data as Json).run.id as string
    let driver = createSlackDriver({ signingSecret: SLACK_SECRET, url: `${server.url}/slack/events`, fake })

    const approval = await fake.waitFor(
      (f) =>
        f
          .messages(CHANNEL, { includeReplies: true })
          .find(
            (m) => m.thread_ts !== undefined && blocksOf(m).includes('gl_edit_approve') && blocksOf(m).includes(runId),
          ),
      10_000,
    )
    expect(blocksOf(approval)).toContain('Dear customer, ticket T-7 is fixed.')
    expect(blocksOf(approval)).toContain('Reply to the customer')
    const draftApprove = buttonValue(approval, 'gl_approve')
    const click = (user: string, action: string, value?: string) =>
      driver.blockAction({
        user,
        action_id: action,
        channel: CHANNEL,
        message_ts: approval.ts,
        ...(value ? { value } : {}),
      })

    // Someone who may not approve is told so, and no form opens: an outsider, and the run's initiator.
    for (const user of ['U0OUT', 'U0INIT']) {
      expect((await click(user, 'gl_edit_approve')).status).toBe(200)
      await fake.waitFor((f) => f.ephemerals(user).length > 0, 10_000)
    }
    expect(fake.ephemerals('U0OUT')[0]?.text).toContain('not one of the approvers')
    expect(fake.ephemerals('U0INIT')[0]?.text).toContain('started this run')
    expect(fake.views.some((v) => v.callback_id === 'gl_edit_approve')).toBe(false)

    // Cat approves the draft; then Ann opens the form, prefilled, and approves her correction.
    expect((await click('U0CAT', 'gl_approve')).status).toBe(200)
    await fake.waitFor((f) => blocksOf(f.message(CHANNEL, approval.ts)).includes('1 of 2 approvals'), 10_000)
    expect((await click('U0ANN', 'gl_edit_approve')).status).toBe(200)
    const modal = await fake.waitFor((f) => f.views.find((v) => v.callback_id === 'gl_edit_approve'), 10_000)
    const blocks = modal.view.blocks as Json[]
    const reply = blocks.find((b) => b.block_id === 'e_reply')
    expect(reply.element).toMatchObject({
      type: 'plain_text_input',
      multiline: true,
      max_length: 3000,
      initial_value: 'Dear customer, ticket T-7 is fixed.',
    })
    // The log is longer than a Slack input holds: it is not in the form, which says where to change it.
    expect(blocks.some((b) => b.block_id === 'e_log')).toBe(false)
    expect(JSON.stringify(blocks)).toContain('--edit log=')

    const corrected = 'Dear customer, ticket T-7 is fixed in 2.0 — «thanks» 🚀'
    const submitted = await driver.viewSubmission({
      user: 'U0ANN',
      view: {
        id: modal.id,
        callback_id: 'gl_edit_approve',
        private_metadata: modal.private_metadata,
        state: { values: { e_reply: { value: text(corrected) }, comment: { value: text('friendlier') } } },
      },
    })
    expect(submitted.status).toBe(200)
    expect(submitted.text).not.toContain('errors')

    // The message now shows the edited reply, one approval (Ann's), Cat's as void, and buttons on the new digest.
    const updated = await fake.waitFor((f) => {
      const m = f.message(CHANNEL, approval.ts)
      return m && blocksOf(m).includes('fixed in 2.0') && blocksOf(m).includes('1 of 2 approvals') ? m : undefined
    }, 10_000)
    expect(blocksOf(updated)).toContain('no longer count')
    expect(blocksOf(updated)).toContain('edited by <@U0ANN>')
    expect(buttonValue(updated, 'gl_approve')).not.toBe(draftApprove)
    const notice = await fake.waitFor(
      (f) => f.thread(CHANNEL, approval.thread_ts as string).find((m) => (m.text ?? '').includes('✏️')),
      10_000,
    )
    expect(notice.text).toContain('<@U0ANN> edited *reply*')
    expect(notice.text).toContain('1 approval given before the edit no longer counts')
    expect(notice.text).toContain('<@U0BOB>')

    // A restart in between: the edited revision is what the new server shows and counts.
    await server.close()
    server = await startOn(dataDir, fake.apiUrl)
    driver = createSlackDriver({ signingSecret: SLACK_SECRET, url: `${server.url}/slack/events`, fake })
    const shown = await api(server, 'GET', `/api/v1/runs/${runId}`)
    const waitId = (shown.body.data as Json).run.waiting_on.wait_id as string
    const wait = ((await api(server, 'GET', `/api/v1/waits/${waitId}`)).body.data as Json).wait
    expect(wait.edit).toMatchObject({
      revision: 1,
      fields: [
        { name: 'reply', value: corrected, was_edited: true },
        { name: 'log', was_edited: false },
      ],
    })
    expect(wait.tally).toMatchObject({ approvals: 1, approvers: ['U0ANN'] })

    // Bob's click on a button of the draft (the digest before the edit) is refused and says why…
    expect((await click('U0BOB', 'gl_approve', draftApprove)).status).toBe(200)
    await fake.waitFor((f) => f.ephemerals('U0BOB').length > 0, 10_000)
    expect(fake.ephemerals('U0BOB')[0]?.text).toContain('edited (reply) by U0ANN after you saw it')
    // …and so is a form opened on the draft, on the form itself.
    const stale = await driver.viewSubmission({
      user: 'U0BOB',
      view: {
        id: modal.id,
        callback_id: 'gl_edit_approve',
        private_metadata: modal.private_metadata,
        state: { values: { e_reply: { value: text('Bob would say it otherwise') } } },
      },
    })
    expect(stale.body).toMatchObject({
      response_action: 'errors',
      errors: { e_reply: expect.stringContaining('edited') },
    })
    expect(((await api(server, 'GET', `/api/v1/waits/${waitId}`)).body.data as Json).wait.tally.approvals).toBe(1)

    // Bob approves the edited version from the updated message: the quorum, and the output carries the edit.
    expect((await click('U0BOB', 'gl_approve', buttonValue(updated, 'gl_approve'))).status).toBe(200)
    const done = await runReaches(server, runId, ['succeeded', 'failed'])
    expect(done.run.status).toBe('succeeded')
    const output = done.steps.find((s: Json) => s.step === 'review').output
    expect(output.edited).toEqual({
      reply: { value: corrected, was_edited: true },
      log: { value: log, was_edited: false },
    })
    expect(output.votes.map((v: Json) => v.user)).toEqual(['U0ANN', 'U0BOB'])
    expect(output.votes[0].comment).toBe('friendlier')
    await fake.waitFor(
      (f) =>
        f.thread(CHANNEL, approval.thread_ts as string).find((m) => (m.text ?? '').includes(`EDIT-DONE ${corrected}`)),
      10_000,
    )
    const decided = await fake.waitFor((f) => {
      const json = blocksOf(f.message(CHANNEL, approval.ts))
      return json.includes('Approved') && !json.includes('gl_edit_approve') ? json : undefined
    }, 10_000)
    expect(decided).toContain('fixed in 2.0')
  })
})
