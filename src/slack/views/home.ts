// The App Home tab: approvals waiting on the viewer (with vote buttons), their recent runs, flows they can start.
import type { RunStatus } from '../../core/run-status.ts'
import { approvalButtons, tallyText } from './approval.ts'
import { type Block, chunkLines, context, divider, type HomeView, header, LIMITS, section } from './blocks.ts'
import {
  code,
  defangBroadcasts,
  escapeMrkdwn,
  flowRef,
  formatAge,
  mention,
  slackDate,
  stripControl,
  truncate,
  truncateMrkdwn,
} from './mrkdwn.ts'
import { STATUS_EMOJI, STATUS_LABEL } from './run-card.ts'

export interface HomeApproval {
  waitId: string
  digest: string
  runId: string
  stepId: string
  stepName?: string
  flow: { slug: string; version: number | null; name?: string }
  requestedBy: string
  /** The request text (flow-authored mrkdwn); the home shows its start. */
  message: string
  approvals: number
  required: number
  createdAt: number
  deadlineAt?: number | null
  /** The approval offers edit fields: its buttons include Edit & approve. */
  editable?: boolean
}

export interface HomeRun {
  id: string
  flowSlug: string
  version: number | null
  status: RunStatus
  createdAt: number
  waitingOn?: { step: string; kind: string } | null
}

export interface HomeFlow {
  slug: string
  name?: string
  /** The live released version; null when the flow has only drafts. */
  liveVersion: number | null
}

export interface HomeInput {
  /** Already filtered to what the viewer may vote on, runs they started and flows they may start. */
  approvals: readonly HomeApproval[]
  runs: readonly HomeRun[]
  flows: readonly HomeFlow[]
  now: number
}

const RUNS_MAX = 15
const FLOWS_MAX = 40
const PREVIEW_MAX = 300

function approvalBlock(a: HomeApproval, now: number): Block {
  const title = a.flow.name ? `*${escapeMrkdwn(truncate(stripControl(a.flow.name), 100))}* · ` : ''
  const head = `${title}${code(flowRef(a.flow.slug, a.flow.version))} · ${code(a.stepName ?? a.stepId)} · run ${code(truncate(a.runId, 100))}`
  const preview = truncateMrkdwn(defangBroadcasts(stripControl(a.message)).trim(), PREVIEW_MAX)
  const facts = [`asked by ${mention(a.requestedBy)}`, tallyText(a.approvals, a.required), formatAge(a.createdAt, now)]
  if (a.deadlineAt != null) facts.push(`times out ${slackDate(a.deadlineAt)}`)
  return section([head, preview, facts.join(' · ')].filter((s) => s !== '').join('\n'))
}

function runLine(run: HomeRun, now: number): string {
  const waiting = run.status === 'waiting' && run.waitingOn ? ` on ${code(run.waitingOn.step)}` : ''
  return `${STATUS_EMOJI[run.status]} ${code(flowRef(run.flowSlug, run.version))} · ${code(truncate(run.id, 100))} · ${STATUS_LABEL[run.status].toLowerCase()}${waiting} · ${formatAge(run.createdAt, now)}`
}

function flowLine(flow: HomeFlow): string {
  const name = flow.name ? ` ${escapeMrkdwn(truncate(stripControl(flow.name), 100))}` : ''
  const live = flow.liveVersion === null ? '_no live version yet_' : `live v${flow.liveVersion}`
  return `${code(flow.slug)}${name} · ${live}`
}

/** Lines as sections, with `… and N more` when the list was cut. */
function listBlocks(lines: string[], total: number, empty: string, more: string): Block[] {
  if (total === 0) return [context(empty)]
  const blocks = chunkLines(lines).map(section)
  if (total > lines.length) blocks.push(context(`… and ${total - lines.length} more. ${more}`))
  return blocks
}

/** The Home tab; stays within 100 blocks however much is waiting. */
export function homeView(input: HomeInput): HomeView {
  const runs = listBlocks(
    input.runs.slice(0, RUNS_MAX).map((r) => runLine(r, input.now)),
    input.runs.length,
    'You have not started any runs yet.',
    'Run `/gl list` or `greenlight runs list` for all of them.',
  )
  const flows = listBlocks(
    input.flows.slice(0, FLOWS_MAX).map(flowLine),
    input.flows.length,
    'There are no flows you can start yet. Push one with `greenlight flows push`.',
    'See `greenlight flows list`.',
  )
  const footer = context('Start a run with `/gl run <slug> key=value …`; `/gl help` lists every command.')
  const fixed = 3 /* headers */ + 2 /* dividers */ + runs.length + flows.length + 1 /* footer */
  // Each approval takes two blocks (text, buttons); keep one for the "… and N more" line.
  const room = Math.floor((LIMITS.viewBlocks - fixed - 1) / 2)
  const shown = input.approvals.slice(0, Math.max(0, room))
  const approvals: Block[] =
    input.approvals.length === 0
      ? [context('Nothing is waiting on you. 🎉')]
      : shown.flatMap((a) => [
          approvalBlock(a, input.now),
          approvalButtons(a.waitId, a.digest, { editable: a.editable === true }),
        ])
  if (input.approvals.length > shown.length) {
    approvals.push(
      context(`… and ${input.approvals.length - shown.length} more. Run \`/gl approvals\` to see them all.`),
    )
  }
  const count = input.approvals.length > 0 ? ` (${input.approvals.length})` : ''
  return {
    type: 'home',
    blocks: [
      header(`Approvals waiting on you${count}`),
      ...approvals,
      divider(),
      header('Your recent runs'),
      ...runs,
      divider(),
      header('Flows you can start'),
      ...flows,
      footer,
    ],
  }
}
