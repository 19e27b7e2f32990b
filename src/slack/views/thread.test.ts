// Thread messages: every builder stays postable, escapes untrusted text and carries the right ids.
import { describe, expect, it } from 'vitest'
import { blocksJsonLength, validateBlocks } from '../../../test/support/fake-slack/block-kit-limits.ts'
import { parseInputOpenValue } from './actions.ts'
import type { Message } from './blocks.ts'
import {
  escalationMessage,
  inputRequestMessage,
  notifyMessage,
  reminderMessage,
  runFinishedMessage,
  stepFailedMessage,
  waitOpenedMessage,
  waitProgressMessage,
} from './thread.ts'

const T0 = Date.UTC(2026, 0, 1)
const HUGE = `${'🚀 <!channel> & <x|y> "q" '.repeat(200)}`

const texts = (m: Message): string =>
  m.blocks
    .flatMap((b) => (b.type === 'context' ? b.elements.map((e) => e.text) : 'text' in b && b.text ? [b.text.text] : []))
    .join('\n')

function expectPostable(m: Message): void {
  expect(validateBlocks(m.blocks, 'message')).toEqual([])
  expect(blocksJsonLength(m.blocks)).toBeLessThan(12_000)
  expect(m.text.length).toBeGreaterThan(0)
  expect(m.text.length).toBeLessThanOrEqual(4000)
}

describe('thread messages', () => {
  it('reports a failed step with escaped error text and the retry time', () => {
    const m = stepFailedMessage({
      stepId: 'merge',
      error: { code: 'http_status', message: HUGE },
      attempt: 2,
      retryAt: T0,
    })
    expectPostable(m)
    expect(texts(m)).toMatch(
      /^❌ Step `merge` failed \(attempt 2\): `http_status` 🚀 &lt;!channel&gt; &amp; &lt;x\|y&gt;/,
    )
    expect(JSON.stringify(m)).not.toContain('<!channel>')
    expect(texts(m)).toContain(`Retrying <!date^${T0 / 1000}^`)
  })

  it('announces a wait with its notify text and posts heartbeat progress lines', () => {
    const opened = waitOpenedMessage({
      stepId: 'agent_done',
      kind: 'wait',
      notify: '*Agent started* :robot_face:',
      deadlineAt: T0,
    })
    expectPostable(opened)
    expect(texts(opened)).toBe(
      `⏳ \`agent_done\` is waiting for a callback, times out <!date^${T0 / 1000}^{date_short_pretty} {time}|2026-01-01 00:00 UTC>\n*Agent started* :robot_face:`,
    )
    expectPostable(waitOpenedMessage({ stepId: 'x', kind: 'input', notify: HUGE.repeat(3) }))
    const progress = waitProgressMessage({
      stepId: 'agent_done',
      progress: 'tests <passing> 12/40',
      at: T0,
      extendedUntil: T0 + 60_000,
    })
    expectPostable(progress)
    expect(progress.blocks).toHaveLength(1)
    expect(texts(progress)).toMatch(
      /^↻ `agent_done`: tests &lt;passing&gt; 12\/40 · deadline now <!date\^\d+\^.*> · <!date\^/,
    )
    expectPostable(waitProgressMessage({ stepId: 'agent_done', progress: HUGE, at: T0 }))
  })

  it('reminds the pending approvers and escalates', () => {
    const m = reminderMessage({ stepId: 'review', pending: ['U1', 'U2'], approvals: 1, required: 2 })
    expectPostable(m)
    expect(m.text).toBe('<@U1> <@U2>: 1 of 2 approvals still needed')
    const many = reminderMessage({
      stepId: 'review',
      pending: Array.from({ length: 500 }, (_, i) => `U${i}`),
      approvals: 0,
      required: 3,
    })
    expectPostable(many)
    expect(many.text).toMatch(/and 470 more: 0 of 3 approvals still needed$/)
    const e = escalationMessage({
      stepId: 'review',
      to: ['U0ONCALL'],
      approvals: 1,
      required: 2,
      afterMs: 4 * 3_600_000,
    })
    expectPostable(e)
    expect(e.text).toBe(
      '🚨 <@U0ONCALL>: approval `review` is escalated to you after 4h (1 of 2 approvals). You can now vote on it above.',
    )
  })

  it('asks for input with a gl_input_open button carrying the wait id', () => {
    const m = inputRequestMessage({
      waitId: 'wait_9',
      stepId: 'details',
      message: HUGE,
      assignees: ['U1'],
      deadlineAt: T0,
    })
    expectPostable(m)
    const actions = m.blocks.at(-1)
    expect(actions?.type).toBe('actions')
    if (actions?.type !== 'actions') return
    expect(actions.elements).toHaveLength(1)
    expect(actions.elements[0]).toMatchObject({
      type: 'button',
      action_id: 'gl_input_open',
      value: '{"wait":"wait_9"}',
    })
    expect(parseInputOpenValue(actions.elements[0]?.value)).toEqual({ wait: 'wait_9' })
    expect(m.text).toContain('<@U1>: `details` needs input by <!date^')
  })

  it('passes notify blocks through, refusing non-arrays and capping at 50 blocks and the size budget', () => {
    const own = [{ type: 'section', text: { type: 'mrkdwn', text: 'hi *there*' } }, { type: 'divider' }]
    const ok = notifyMessage({ text: 'Merged :rocket:', blocks: own })
    expect(ok).toEqual({ text: 'Merged :rocket:', blocks: own, warnings: [] })

    const notArray = notifyMessage({ text: 'x', blocks: { type: 'section' } })
    expectPostable(notArray)
    expect(notArray.warnings).toEqual(['blocks is not an array; it was ignored'])
    expect(texts(notArray)).toBe('x')

    const sixty = Array.from({ length: 60 }, () => ({ type: 'divider' }))
    const capped = notifyMessage({ blocks: [...sixty, 'junk', null] })
    expectPostable(capped)
    expect(capped.blocks).toHaveLength(50)
    expect(capped.warnings).toEqual([
      '2 blocks without a type were ignored',
      'only the first 50 of 60 blocks are shown',
    ])
    expect(capped.text).toBe('Notification')

    const big = Array.from({ length: 20 }, () => ({
      type: 'section',
      text: { type: 'mrkdwn', text: 'x'.repeat(2900) },
    }))
    const cut = notifyMessage({ text: 'big', blocks: big })
    expectPostable(cut)
    expect(cut.blocks.length).toBe(3)
    expect(cut.warnings).toEqual(["blocks were cut to 3 to stay under Slack's size limit"])

    const textOnly = notifyMessage({ text: `${'line <b>\n'.repeat(600)}` })
    expectPostable(textOnly)
    expect(textOnly.blocks.length).toBeGreaterThan(1)
    expectPostable(notifyMessage({}))
  })

  it('reports the run result with its duration', () => {
    const common = { runId: 'run_1', flowSlug: 'agent_fix', version: 3, startedAt: T0, endedAt: T0 + 252_000 }
    const ok = runFinishedMessage({ ...common, status: 'succeeded' })
    expectPostable(ok)
    expect(ok.text).toBe('✅ Run `run_1` of `agent_fix@v3` succeeded in 4m 12s')
    const failed = runFinishedMessage({
      ...common,
      status: 'failed',
      error: { code: 'rejected', message: HUGE, step: 'review' },
    })
    expectPostable(failed)
    expect(failed.text).toBe('❌ Run `run_1` of `agent_fix@v3` failed after 4m 12s')
    expect(texts(failed)).toContain('`rejected` in `review`: 🚀 &lt;!channel&gt;')
    const canceled = runFinishedMessage({ ...common, status: 'canceled', canceledBy: 'token:ops' })
    expect(canceled.text).toBe('🚫 Run `run_1` of `agent_fix@v3` was canceled after 4m 12s by token:ops')
    const timedOut = runFinishedMessage({ ...common, version: null, status: 'timed_out', endedAt: T0 + 8 * 3_600_000 })
    expect(timedOut.text).toBe('⌛ Run `run_1` of `agent_fix@draft` timed out after 8h')
  })
})
