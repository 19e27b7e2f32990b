// The approval message stays within Block Kit limits for any diff and shows tally, buttons, outcome and notes.
import { describe, expect, it } from 'vitest'
import { blocksJsonLength, validateBlocks, validateView } from '../../../test/support/fake-slack/block-kit-limits.ts'
import { parseApprovalActionValue, parseReasonMetadata } from './actions.ts'
import { type ApprovalMessageInput, approvalMessage, approvalReasonModal } from './approval.ts'
import type { Block, Message } from './blocks.ts'

const DIGEST = 'a'.repeat(64)
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** A unified diff with `n` body lines: every third added, every third removed, with hostile content. */
function makeDiff(n: number, line = (i: number) => `line ${i} <!channel> & <https://evil|x> \`\`\` "q"`): string {
  const body = Array.from({ length: n }, (_, i) => `${['+', '-', ' '][i % 3]}${line(i)}`)
  const oldCount = body.filter((l) => !l.startsWith('+')).length
  const newCount = body.filter((l) => !l.startsWith('-')).length
  return ['--- a/src/app.ts', '+++ b/src/app.ts', `@@ -1,${oldCount} +1,${newCount} @@`, ...body, ''].join('\n')
}

const base = (over: Partial<ApprovalMessageInput> = {}): ApprovalMessageInput => ({
  waitId: 'wait_01J',
  digest: DIGEST,
  runId: 'run_01JABC',
  stepId: 'review',
  flow: { slug: 'agent_fix', name: 'Agent fixes an issue', version: 3 },
  requestedBy: 'U0INIT',
  message: '*Patch for acme/api#42*\nFixes the <!channel> bug & more',
  required: 2,
  votes: [],
  ...over,
})

const texts = (blocks: Block[]): string[] =>
  blocks.flatMap((b) =>
    b.type === 'context' ? b.elements.map((e) => e.text) : 'text' in b && b.text ? [b.text.text] : [],
  )
const codeSections = (m: Message) => texts(m.blocks).filter((t) => t.startsWith('```'))
const note = (m: Message) => texts(m.blocks).find((t) => t.startsWith('📄')) ?? ''

function expectPostable(m: Message): void {
  expect(validateBlocks(m.blocks, 'message')).toEqual([])
  expect(blocksJsonLength(m.blocks)).toBeLessThan(12_000)
  expect(m.blocks.length).toBeLessThanOrEqual(50)
  expect(m.text.length).toBeGreaterThan(0)
  expect(JSON.stringify(m)).not.toMatch(LONE_SURROGATE)
  for (const t of codeSections(m)) {
    expect(t.length).toBeLessThanOrEqual(3000)
    expect(t.endsWith('\n```')).toBe(true)
    // No fence inside the block, and no raw <, > or a broken entity.
    expect(t.slice(3, -3)).not.toContain('```')
    expect(t).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/)
  }
}

describe('approvalMessage (open)', () => {
  it('shows request, facts, the whole short diff, the tally and the three buttons', () => {
    const m = approvalMessage(base({ diff: makeDiff(9), deadlineAt: Date.UTC(2026, 0, 1) }))
    expectPostable(m)
    const all = texts(m.blocks).join('\n')
    expect(all).toContain('&lt;!channel&gt;')
    expect(JSON.stringify(m)).not.toContain('<!channel>')
    expect(note(m)).toBe('📄 +3 −3 lines')
    expect(codeSections(m)).toHaveLength(1)
    expect(all).toContain('*0 of 2 approvals*')
    const facts = m.blocks.find((b) => b.type === 'section' && b.fields)
    expect(JSON.stringify(facts)).toContain('`agent_fix@v3`')
    expect(JSON.stringify(facts)).toContain('<@U0INIT>')
    expect(JSON.stringify(facts)).toContain('<!date^')
    const actions = m.blocks.at(-1)
    expect(actions?.type).toBe('actions')
    if (actions?.type !== 'actions') return
    expect(actions.elements.map((e) => [e.action_id, e.text?.text, e.style])).toEqual([
      ['gl_approve', 'Approve', 'primary'],
      ['gl_approve_comment', 'Approve with comment', undefined],
      ['gl_reject', 'Reject', 'danger'],
      ['gl_request_changes', 'Request changes', undefined],
    ])
    for (const e of actions.elements) {
      expect(JSON.parse(e.value ?? '')).toEqual({ wait: 'wait_01J', digest: DIGEST })
      expect(parseApprovalActionValue(e.value)).toEqual({ wait: 'wait_01J', digest: DIGEST })
    }
    expect(m.text).toContain('Approval requested: review on agent_fix@v3')
  })

  it('previews a 400-line diff as a prefix, on line boundaries, with the truncation note', () => {
    const diff = makeDiff(400)
    const m = approvalMessage(base({ diff }))
    expectPostable(m)
    const match = /^📄 \+134 −133 lines, preview of (\d+) of 403 lines; full diff in the thread file$/.exec(note(m))
    expect(match).not.toBeNull()
    const shown = Number(match?.[1])
    expect(shown).toBeGreaterThan(20)
    expect(shown).toBeLessThan(403)
    const previewLines = codeSections(m).flatMap((t) => t.slice(4, -4).split('\n'))
    expect(previewLines).toHaveLength(shown)
    const expected = diff
      .split('\n')
      .slice(0, shown)
      .map((l) => l.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/```/g, '``\u200b`'))
    expect(previewLines).toEqual(expected)
  })

  it('stays within limits for a 20,000-line diff and a 3,000-character emoji message', () => {
    const message = `${'🚀<>&'.repeat(750)}`
    const m = approvalMessage(base({ diff: makeDiff(20_000), message }))
    expectPostable(m)
    expect(note(m)).toMatch(/^📄 \+6667 −6667 lines, preview of \d+ of 20003 lines; full diff in the thread file$/)
    expect(texts(m.blocks)[1]?.length).toBeLessThanOrEqual(3000)
  })

  it('survives JSON-expensive and single huge lines, and unicode in every field', () => {
    const quotes = approvalMessage(base({ diff: makeDiff(5000, () => '"\\'.repeat(200)) }))
    expectPostable(quotes)
    const oneLine = approvalMessage(base({ diff: `+${'x'.repeat(50_000)}\n` }))
    expectPostable(oneLine)
    expect(codeSections(oneLine)[0]).toContain('…')
    const unicode = approvalMessage(
      base({
        diff: makeDiff(3000, (i) => `${'🧪👨‍👩‍👧'.repeat(40)} ${i}`),
        stepName: '✅'.repeat(200),
        flow: { slug: 'f', name: '<@U1> & 🎉'.repeat(100), version: null },
        attachments: Array.from({ length: 15 }, (_, i) => ({ title: `log <${i}> 📎`.repeat(20) })),
        votes: Array.from({ length: 40 }, (_, i) => ({
          voter: `U${1000 + i}`,
          decision: 'approve' as const,
          comment: null,
          digest: DIGEST,
          at: i,
        })),
      }),
    )
    expectPostable(unicode)
  })

  it('counts only votes on the shown artifact and says when older votes no longer count', () => {
    const m = approvalMessage(
      base({
        votes: [
          { voter: 'U1', decision: 'approve', comment: null, digest: DIGEST, at: 1 },
          { voter: 'U9', decision: 'approve', comment: null, digest: 'old', at: 0 },
        ],
      }),
    )
    expectPostable(m)
    expect(texts(m.blocks)).toContain('*1 of 2 approvals* · <@U1> · 1 vote on an earlier revision no longer counts')
    expect(m.text).toContain('1 of 2 approvals')
  })
})

describe('approvalMessage (decided, superseded)', () => {
  it('replaces the buttons with the outcome line and keeps the same preview', () => {
    const diff = makeDiff(400)
    const open = approvalMessage(base({ diff }))
    const at = Date.UTC(2026, 4, 6, 7, 8)
    const decided = approvalMessage(
      base({
        diff,
        state: {
          kind: 'decided',
          outcome: 'rejected',
          by: ['U7'],
          at,
          comment: `Breaks <!here> & the build\n${'x'.repeat(5000)}`,
        },
      }),
    )
    expectPostable(decided)
    expect(decided.blocks.some((b) => b.type === 'actions')).toBe(false)
    const outcome = texts(decided.blocks).at(-1) ?? ''
    expect(outcome).toMatch(
      new RegExp(
        `^❌ \\*Rejected\\* by <@U7> · <!date\\^${at / 1000}\\^\\{date_short_pretty\\} \\{time\\}\\|2026-05-06 07:08 UTC>\\n> Breaks &lt;!here&gt; &amp; the build\\n> x+…$`,
      ),
    )
    expect(codeSections(decided)).toEqual(codeSections(open))
    expect(decided.text).toContain('Approval rejected')
    const approved = approvalMessage(base({ state: { kind: 'decided', outcome: 'approved', by: ['U1', 'U2'], at } }))
    expect(texts(approved.blocks).at(-1)).toMatch(/^✅ \*Approved\* by <@U1>, <@U2> · <!date\^/)
  })

  it('removes the buttons of a superseded revision', () => {
    const m = approvalMessage(base({ diff: makeDiff(10), state: { kind: 'superseded' } }))
    expectPostable(m)
    expect(m.blocks.some((b) => b.type === 'actions')).toBe(false)
    expect(texts(m.blocks).join('\n')).toMatch(/superseded by a newer revision/i)
  })

  it('keeps how a superseded revision ended (changes requested, by whom, why) above the superseded line', () => {
    const at = Date.UTC(2026, 10, 22, 9, 30)
    const decided = { kind: 'decided', outcome: 'changes_requested', by: ['U2'], at, comment: 'Add a test' } as const
    const m = approvalMessage(base({ state: { kind: 'superseded', decided } }))
    expectPostable(m)
    const lines = texts(m.blocks)
    expect(lines.at(-2)).toMatch(/^🔁 \*Changes requested\* by <@U2> · <!date\^[\s\S]*> Add a test/)
    expect(lines.at(-1)).toMatch(/superseded by a newer revision/i)
    expect(m.text).toMatch(/^Approval superseded/)
  })
})

describe('approvalReasonModal', () => {
  it('asks for a required multiline reason and carries wait, digest and decision', () => {
    for (const decision of ['reject', 'request_changes'] as const) {
      const view = approvalReasonModal({ waitId: 'wait_1', digest: DIGEST, decision, channel: 'C1', ts: '1.2' })
      expect(validateView(view)).toEqual([])
      expect(view.callback_id).toBe('gl_reason')
      const input = view.blocks[0]
      expect(input).toMatchObject({
        type: 'input',
        block_id: 'reason',
        element: { type: 'plain_text_input', action_id: 'reason', multiline: true },
      })
      expect(input && 'optional' in input ? input.optional : undefined).not.toBe(true)
      expect(JSON.parse(view.private_metadata ?? '')).toEqual({
        wait: 'wait_1',
        digest: DIGEST,
        decision,
        channel: 'C1',
        ts: '1.2',
      })
      expect(parseReasonMetadata(view.private_metadata)).toEqual({
        wait: 'wait_1',
        digest: DIGEST,
        decision,
        channel: 'C1',
        ts: '1.2',
      })
    }
    expect(parseReasonMetadata('{"wait":"w","digest":"d","decision":"merge"}')).toBeNull()
    expect(parseApprovalActionValue('not json')).toBeNull()
  })

  it('offers an optional comment when approving with one', () => {
    const view = approvalReasonModal({ waitId: 'wait_1', digest: DIGEST, decision: 'approve' })
    expect(validateView(view)).toEqual([])
    expect(view.blocks[0]).toMatchObject({ type: 'input', block_id: 'reason', optional: true })
    expect(view.submit?.text).toBe('Approve')
    expect(parseReasonMetadata(view.private_metadata)).toEqual({ wait: 'wait_1', digest: DIGEST, decision: 'approve' })
  })
})
