// Approve with edits in Slack stays within Block Kit limits for any values, and the form reads back what was typed.
import { describe, expect, it } from 'vitest'
import { blocksJsonLength, validateBlocks, validateView } from '../../../test/support/fake-slack/block-kit-limits.ts'
import { createRandom, fuzzRuns, fuzzSeed } from '../../../test/support/fuzz-env.ts'
import { type ApprovalEdit, type EditField, openEdit, revise } from '../../core/approvals/edits.ts'
import { approvalMessage } from './approval.ts'
import { editApproveModal, editNoticeMessage, parseEditMetadata, readEditSubmission } from './edit-modal.ts'
import { homeView } from './home.ts'

const DIGEST = 'b'.repeat(64)
const PIECES = ['a', ' ', '\n', '<!channel>', '&', '```', '*', '> ', '漢', '🚀', 'é', '\u0000', '\r\n', '<@U0X>']

function randomText(random: ReturnType<typeof createRandom>, max: number): string {
  const length = random.int(max + 1)
  let out = ''
  while (out.length < length) out += random.pick(PIECES)
  return out.slice(0, max)
}

function randomEdit(random: ReturnType<typeof createRandom>): ApprovalEdit {
  const count = 1 + random.int(10)
  const fields: Record<string, { type: string; label?: string; value: string }> = {}
  for (let i = 0; i < count; i++) {
    fields[`f_${i}`] = {
      type: random.chance(0.5) ? 'textarea' : 'text',
      ...(random.chance(0.5) ? { label: randomText(random, 100) || 'x' } : {}),
      value: randomText(random, random.chance(0.3) ? 20_000 : 400),
    }
  }
  return openEdit(fields) as ApprovalEdit
}

/** What Slack sends back for a form whose inputs hold `typed` (an emptied input comes back as null). */
function stateOf(typed: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(typed).map(([name, value]) => [
      `e_${name}`,
      { value: { type: 'plain_text_input', value: value === '' ? null : value } },
    ]),
  )
}

describe('approve with edits in Slack', () => {
  it('keeps the approval message, the form and the notice within Block Kit limits for random fields', () => {
    const random = createRandom(fuzzSeed(0x5eed))
    for (let run = 0; run < fuzzRuns(60); run++) {
      const edit = randomEdit(random)
      const message = approvalMessage({
        waitId: 'wait_01J',
        digest: DIGEST,
        runId: 'run_01J',
        stepId: 'review',
        flow: { slug: 'support', version: 2 },
        requestedBy: 'U0INIT',
        message: randomText(random, 4000),
        diff: `--- a/x\n+++ b/x\n@@ -1 +1 @@\n-${randomText(random, 5000)}\n+new\n`,
        required: 2,
        votes: [],
        edit,
      })
      expect(validateBlocks(message.blocks, 'message')).toEqual([])
      expect(blocksJsonLength(message.blocks)).toBeLessThanOrEqual(12_000)
      expect(JSON.stringify(message.blocks)).toContain('gl_edit_approve')
      const modal = editApproveModal({ waitId: 'wait_01J', digest: DIGEST, stepId: 'review', fields: edit.fields })
      expect(validateView(modal)).toEqual([])
      const notice = editNoticeMessage({
        stepId: 'review',
        by: 'U0ANN',
        fields: edit.fields.map((f) => f.name),
        voided: random.int(5),
        pending: ['U0BOB'],
      })
      expect(validateBlocks(notice.blocks, 'message')).toEqual([])
    }
  })

  it('prefills every field that fits an input, and reads back exactly what was typed', () => {
    const random = createRandom(fuzzSeed(0xf0e))
    for (let run = 0; run < fuzzRuns(60); run++) {
      const edit = randomEdit(random)
      const modal = editApproveModal({
        waitId: 'wait_01J',
        digest: DIGEST,
        stepId: 'review',
        fields: edit.fields,
        channel: 'C0X',
        ts: '1.2',
      })
      expect(parseEditMetadata(modal.private_metadata)).toEqual({
        wait: 'wait_01J',
        digest: DIGEST,
        channel: 'C0X',
        ts: '1.2',
      })
      const fits = (f: EditField) => f.value.length <= 3000
      for (const f of edit.fields) {
        const input = modal.blocks.find((b) => b.type === 'input' && b.block_id === `e_${f.name}`)
        expect(input === undefined, f.name).toBe(!fits(f))
        if (input?.type === 'input') expect(input.element.initial_value ?? '').toBe(f.value)
      }
      const typed = Object.fromEntries(
        edit.fields.filter(fits).map((f) => [f.name, random.chance(0.5) ? f.value : randomText(random, 3000)]),
      )
      const read = readEditSubmission(edit.fields, stateOf(typed))
      expect(read.edits).toEqual(typed)
    }
  })

  it('marks who edited a field once it differs from the draft', () => {
    const opened = openEdit({ reply: { value: 'Hi' } }) as ApprovalEdit
    const shown = { message: 'm', diff: null, attachments: [] }
    const { edit } = revise(shown, opened, { reply: 'Hello <!here>' }, 'U0ANN', 1, 'd0')
    const text = JSON.stringify(
      approvalMessage({
        waitId: 'w',
        digest: DIGEST,
        runId: 'r',
        stepId: 'review',
        flow: { slug: 's', version: 1 },
        requestedBy: 'U0INIT',
        message: 'm',
        required: 1,
        votes: [],
        edit,
      }).blocks,
    )
    expect(text).toContain('edited by <@U0ANN>')
    expect(text).toContain('Hello &lt;!here&gt;')
    expect(parseEditMetadata('{"wait":""}')).toBeNull()
    expect(parseEditMetadata('not json')).toBeNull()
  })

  it('offers Edit & approve in the App Home for approvals with edit fields only', () => {
    const item = (waitId: string, editable: boolean) => ({
      waitId,
      digest: DIGEST,
      runId: 'run_1',
      stepId: 'review',
      flow: { slug: 's', version: 1 },
      requestedBy: 'U0INIT',
      message: 'm',
      approvals: 0,
      required: 1,
      createdAt: 0,
      editable,
    })
    const view = homeView({ approvals: [item('w_edit', true), item('w_plain', false)], runs: [], flows: [], now: 0 })
    const buttons = view.blocks
      .filter((b) => b.type === 'actions')
      .map((b) => (b.type === 'actions' ? b.elements.map((e) => e.action_id) : []))
    expect(buttons[0]).toContain('gl_edit_approve')
    expect(buttons[1]).not.toContain('gl_edit_approve')
  })
})
