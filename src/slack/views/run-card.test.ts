// The run card: status, checklist (collapsed for long flows), elapsed time, error line; always within limits.
import { describe, expect, it } from 'vitest'
import { blocksJsonLength, validateBlocks } from '../../../test/support/fake-slack/block-kit-limits.ts'
import type { Message } from './blocks.ts'
import { type CardRun, type CardStep, runCard, stepChecklist } from './run-card.ts'

const T0 = Date.UTC(2026, 0, 1, 12)

const run = (over: Partial<CardRun> = {}): CardRun => ({
  id: 'run_01JXYZ',
  flowSlug: 'agent_fix',
  version: 3,
  status: 'running',
  initiator: 'U0ADA',
  createdAt: T0,
  startedAt: T0 + 1000,
  endedAt: null,
  error: null,
  waitingOn: null,
  cursor: { step: 'review', visit: 1 },
  ...over,
})

const texts = (m: Message): string =>
  m.blocks
    .flatMap((b) => (b.type === 'context' ? b.elements.map((e) => e.text) : 'text' in b && b.text ? [b.text.text] : []))
    .join('\n')

function expectPostable(m: Message): void {
  expect(validateBlocks(m.blocks, 'message')).toEqual([])
  expect(blocksJsonLength(m.blocks)).toBeLessThan(12_000)
  expect(m.text.length).toBeGreaterThan(0)
}

describe('runCard', () => {
  it('shows flow, run, initiator, status, checklist and elapsed time', () => {
    const steps: CardStep[] = [
      { id: 'start_agent', name: 'Start the agent', state: 'done' },
      { id: 'lint', state: 'skipped' },
      { id: 'agent_done', state: 'done' },
      { id: 'review', state: 'waiting' },
      { id: 'merge', state: 'pending' },
    ]
    const m = runCard({
      run: run({ status: 'waiting', waitingOn: { step: 'review', kind: 'approval', until: T0 + 3_600_000 } }),
      flowName: 'Agent <fixes> & ships',
      steps,
      waitingDetail: '1 of 2 approvals',
    })
    expectPostable(m)
    const all = texts(m)
    expect(all).toContain('*Agent &lt;fixes&gt; &amp; ships* · `agent_fix@v3`')
    // The start as Slack's date token (each reader's client renders it), not an elapsed time that goes stale.
    expect(all).toContain(
      `Run \`run_01JXYZ\` · started by <@U0ADA> · since <!date^${(T0 + 1000) / 1000}^{date_short_pretty} {time}|2026-01-01 12:00 UTC>`,
    )
    expect(all).not.toContain('running for')
    expect(all).toContain('⏳ *Waiting* on `review`: waiting for approval (1 of 2 approvals), times out <!date^')
    expect(all).toContain(
      [
        '✅ `start_agent` Start the agent',
        '⏭ `lint`',
        '✅ `agent_done`',
        `⏳ \`review\` — waiting for approval (1 of 2 approvals), times out <!date^${(T0 + 3_600_000) / 1000}^`,
      ].join('\n'),
    )
    expect(all).toContain('▫️ `merge`')
    expect(m.text).toBe('agent_fix@v3 run run_01JXYZ: waiting')
  })

  it('shows token and schedule initiators as text, and the error line of a failed run', () => {
    const m = runCard({
      run: run({
        status: 'failed',
        initiator: 'token:ci<bot>',
        endedAt: T0 + 1000 + 42_000,
        error: { code: 'http_status', message: `got 500 <!channel> ${'e'.repeat(5000)}`, step: 'merge' },
      }),
      steps: [
        { id: 'review', state: 'done' },
        { id: 'merge', state: 'failed' },
      ],
    })
    expectPostable(m)
    const all = texts(m)
    expect(all).toContain('started by token:ci&lt;bot&gt; · took 42s')
    expect(all).toContain('❌ *Failed*')
    expect(all).toMatch(/❌ `http_status` in `merge`: got 500 &lt;!channel&gt; e+…/)
    const queued = texts(runCard({ run: run({ status: 'queued', startedAt: null }), steps: [] }))
    expect(queued).toContain(`queued since <!date^${T0 / 1000}^{date_short_pretty} {time}|2026-01-01 12:00 UTC>`)
    expect(runCard({ run: run({ initiator: 'schedule:nightly' }), steps: [] }).blocks[1]).toMatchObject({
      elements: [{ text: expect.stringContaining('started by schedule:nightly') }],
    })
  })

  it('collapses the middle of a 200-step flow around the current step', () => {
    const steps: CardStep[] = Array.from({ length: 200 }, (_, i) => ({
      id: `step_${i}`,
      name: `${'Ünïcödé 🚀 <b> & '.repeat(10)}${i}`,
      state: i < 120 ? (i % 10 === 0 ? 'skipped' : 'done') : i === 120 ? 'current' : 'pending',
      ...(i === 120 ? { detail: 'visit 2' } : {}),
    }))
    const m = runCard({ run: run({ cursor: { step: 'step_120', visit: 2 } }), steps })
    expectPostable(m)
    const all = texts(m)
    for (const id of ['step_0', 'step_2', 'step_118', 'step_120', 'step_122', 'step_197', 'step_199']) {
      expect(all).toContain(`\`${id}\``)
    }
    expect(all).not.toContain('`step_60`')
    expect(all).toMatch(/… \d+ more steps \(\d+ done, \d+ skipped\)/)
    expect(all).toMatch(/… 74 more steps \(74 pending\)/)
    expect(all).toContain('⏳ `step_120`')
    expect(all).toContain('— running, visit 2')
    expect(all).toContain('🔄 *Running* `step_120`')
  })
})

describe('stepChecklist', () => {
  const flowSteps = [{ id: 'a', name: 'A' }, { id: 'b' }, { id: 'c' }, { id: 'd' }]

  it('derives states from step runs and where the run stands', () => {
    const states = stepChecklist(
      flowSteps,
      [
        { stepId: 'a', status: 'succeeded' },
        { stepId: 'b', status: 'skipped' },
      ],
      run({ status: 'waiting', cursor: { step: 'c', visit: 2 }, waitingOn: { step: 'c', kind: 'wait' } }),
    )
    expect(states).toEqual([
      { id: 'a', name: 'A', state: 'done' },
      { id: 'b', state: 'skipped' },
      { id: 'c', state: 'waiting', detail: 'visit 2' },
      { id: 'd', state: 'pending' },
    ])
  })

  it('marks the step a failed run stopped on', () => {
    const states = stepChecklist(
      flowSteps,
      [{ stepId: 'a', status: 'succeeded' }],
      run({ status: 'failed', cursor: { step: 'b' }, error: { code: 'x', message: 'y', step: 'b' } }),
    )
    expect(states.map((s) => s.state)).toEqual(['done', 'failed', 'pending', 'pending'])
  })
})
