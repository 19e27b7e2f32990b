// The App Home tab: approvals with buttons, recent runs, startable flows, empty states, and the 100-block cap.
import { describe, expect, it } from 'vitest'
import { validateBlocks, validateView } from '../../../test/support/fake-slack/block-kit-limits.ts'
import { parseApprovalActionValue } from './actions.ts'
import type { Block, HomeView } from './blocks.ts'
import { type HomeApproval, type HomeRun, homeView } from './home.ts'

const NOW = Date.UTC(2026, 0, 2)

const approval = (i: number, message = `*Patch ${i}* for <!channel> & co`): HomeApproval => ({
  waitId: `wait_${i}`,
  digest: `${i}`.padStart(64, '0'),
  runId: `run_${i}`,
  stepId: 'review',
  flow: { slug: 'agent_fix', version: 3, name: 'Agent fixes 🐛' },
  requestedBy: 'U0INIT',
  message,
  approvals: 1,
  required: 2,
  createdAt: NOW - 3 * 3_600_000,
})

const texts = (blocks: Block[]): string =>
  blocks
    .flatMap((b) => (b.type === 'context' ? b.elements.map((e) => e.text) : 'text' in b && b.text ? [b.text.text] : []))
    .join('\n')

function expectPublishable(view: HomeView): void {
  expect(view.type).toBe('home')
  expect(validateView(view)).toEqual([])
  expect(validateBlocks(view.blocks, 'home')).toEqual([])
  expect(view.blocks.length).toBeLessThanOrEqual(100)
}

describe('homeView', () => {
  it('shows empty states when nothing waits, ran or can be started', () => {
    const view = homeView({ approvals: [], runs: [], flows: [], now: NOW })
    expectPublishable(view)
    const all = texts(view.blocks)
    expect(all).toContain('Nothing is waiting on you.')
    expect(all).toContain('You have not started any runs yet.')
    expect(all).toContain('There are no flows you can start yet.')
    expect(view.blocks.some((b) => b.type === 'actions')).toBe(false)
  })

  it('lists approvals with the vote buttons, runs with status and age, and flows with their live version', () => {
    const runs: HomeRun[] = [
      {
        id: 'run_1',
        flowSlug: 'agent_fix',
        version: 3,
        status: 'waiting',
        createdAt: NOW - 120_000,
        waitingOn: { step: 'review', kind: 'approval' },
      },
      { id: 'run_2', flowSlug: 'deploy', version: null, status: 'failed', createdAt: NOW - 90_000_000 },
    ]
    const view = homeView({
      approvals: [approval(1)],
      runs,
      flows: [
        { slug: 'agent_fix', name: 'Agent <fixes>', liveVersion: 3 },
        { slug: 'draft_only', liveVersion: null },
      ],
      now: NOW,
    })
    expectPublishable(view)
    const all = texts(view.blocks)
    expect(all).toContain('*Agent fixes 🐛* · `agent_fix@v3` · `review` · run `run_1`')
    expect(all).toContain('*Patch 1* for &lt;!channel&gt; & co')
    expect(all).toContain('asked by <@U0INIT> · 1 of 2 approvals · 3h ago')
    expect(all).toContain('⏳ `agent_fix@v3` · `run_1` · waiting on `review` · 2m ago')
    expect(all).toContain('❌ `deploy@draft` · `run_2` · failed · 1d 1h ago')
    expect(all).toContain('`agent_fix` Agent &lt;fixes&gt; · live v3')
    expect(all).toContain('`draft_only` · _no live version yet_')
    const actions = view.blocks.filter((b) => b.type === 'actions')
    expect(actions).toHaveLength(1)
    const buttons = actions[0]?.type === 'actions' ? actions[0].elements : []
    expect(buttons.map((e) => e.action_id)).toEqual([
      'gl_approve',
      'gl_approve_comment',
      'gl_reject',
      'gl_request_changes',
    ])
    expect(parseApprovalActionValue(buttons[0]?.value)).toEqual({ wait: 'wait_1', digest: approval(1).digest })
  })

  it('stays within 100 blocks with 60 waiting approvals, long messages and many runs and flows', () => {
    const view = homeView({
      approvals: Array.from({ length: 60 }, (_, i) => approval(i, `${'🚀 <x> & '.repeat(300)}`)),
      runs: Array.from({ length: 40 }, (_, i) => ({
        id: `run_${i}`,
        flowSlug: 'f',
        version: 1,
        status: 'succeeded' as const,
        createdAt: NOW - i * 60_000,
      })),
      flows: Array.from({ length: 120 }, (_, i) => ({
        slug: `flow_${i}`,
        name: `${'Ünïcödé '.repeat(30)}`,
        liveVersion: i,
      })),
      now: NOW,
    })
    expectPublishable(view)
    const shown = view.blocks.filter((b) => b.type === 'actions').length
    expect(shown).toBeGreaterThan(30)
    expect(shown).toBeLessThan(60)
    const all = texts(view.blocks)
    expect(all).toContain(`… and ${60 - shown} more. Run \`/gl approvals\` to see them all.`)
    expect(all).toContain('… and 25 more. Run `/gl list`')
    expect(all).toContain('… and 80 more. See `greenlight flows list`.')
    expect(view.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Approvals waiting on you (60)' } })
  })
})
