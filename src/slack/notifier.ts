// Mirrors runs into Slack: one run card per run (updated in place) and a thread message per notable event, all
// through the durable outbox with idempotent keys, so replaying a run's events never posts twice.
import type { Logger } from 'pino'
import { tally } from '../core/approvals/policy.ts'
import { specOf } from '../core/wait-spec.ts'
import type { CompiledFlow } from '../engine/compiled-flow.ts'
import type { OutboxItem, OutboxPort } from '../engine/outbox-port.ts'
import type { RunReads } from '../engine/reads.ts'
import { type ResourceStore, resolveText } from '../engine/resources.ts'
import type { RunEventRecord, RunRecord, WaitRecord } from '../engine/run-ports.ts'
import { type ApprovalMessageInput, type ApprovalState, approvalMessage, type ShownOutcome } from './views/approval.ts'
import type { Message } from './views/blocks.ts'
import { editNoticeMessage } from './views/edit-modal.ts'
import { runCard, stepChecklist } from './views/run-card.ts'
import {
  escalationMessage,
  inputRequestMessage,
  notifyMessage,
  reminderMessage,
  runFinishedMessage,
  stepFailedMessage,
  waitOpenedMessage,
  waitProgressMessage,
} from './views/thread.ts'

export interface NotifierDeps {
  /** The engine's read door: the notifier mirrors runs and never writes them. */
  reads: RunReads
  flowOf(revisionId: number): Promise<CompiledFlow>
  resources: ResourceStore
  outbox: OutboxPort & { kick(): void }
  defaultChannel: string | undefined
  clock: { now(): number }
  logger: Logger
  /** The approval's console page, for the "View full diff" button (absent: no button). */
  approvalUrl?: ((waitId: string) => string) | undefined
  /** How long a change waits for more changes of the same run before a mirror pass (default 100 ms). */
  coalesceMs?: number
  /**
   * Least time between two mirror passes of one run (default 1 s): Slack sustains about one `chat.update` per
   * message per second, so a burst of votes updates the approval message and the card about once a second. The
   * first change of a quiet run still goes out after `coalesceMs`.
   */
  updateIntervalMs?: number
}

export const DEFAULT_UPDATE_INTERVAL_MS = 1_000

/** Where a run's thread lives: the channel it was started from, the flow's channel, or the default. */
export function runChannel(run: RunRecord, flow: CompiledFlow, defaultChannel: string | undefined): string | null {
  const fromSlack = (run.slack as { channel?: string } | null)?.channel
  return fromSlack ?? flow.definition.slack?.channel ?? defaultChannel ?? null
}

const cardKey = (runId: string) => `card:${runId}`
/**
 * Each mirror pass ends with the card update keyed `card:<run>:<last event seq>`: the outbox row of a run's newest
 * event count is the durable proof that its latest state was mirrored (see `OutboxStore.runsBehind`).
 */
export const CARD_UPDATE = 'card:'

/** Who decided a closed approval, from its result: the approvers, or whoever rejected or asked for changes. */
function deciders(wait: WaitRecord, outcome: ShownOutcome): string[] {
  const votes = (wait.result as { votes?: { user: string; decision: string }[] } | null)?.votes ?? []
  const who = votes
    .filter((v) => (outcome === 'approved' ? v.decision === 'approve' : v.decision !== 'approve'))
    .map((v) => v.user)
  return who.length > 0 ? who : ['greenlight']
}
const approvalKey = (waitId: string) => `approval:${waitId}`

/**
 * How a closed approval ended, for its message; undefined while it is open. The outcome comes from the closed wait's
 * own result, never from the event at hand: an update made for an earlier vote may be rendered after the decision
 * and must show the real outcome.
 */
function decidedState(wait: WaitRecord, at: number): Extract<ApprovalState, { kind: 'decided' }> | undefined {
  if (wait.status === 'open') return undefined
  const outcome = ((wait.result as { decision?: ShownOutcome } | null)?.decision ??
    (wait.status === 'timed_out' ? 'timed_out' : 'approved')) as ShownOutcome
  return {
    kind: 'decided',
    outcome: wait.status === 'canceled' ? 'canceled' : outcome,
    by: deciders(wait, outcome),
    at: wait.completedAt ?? at,
    comment: (wait.result as { comment?: string | null } | null)?.comment ?? null,
  }
}

const APPROVAL_UPDATES = new Set(['approval.voted', 'approval.decided', 'approval.timed_out'])

/** The seq of the last approval-message update of each wait among these events. */
function lastApprovalUpdates(events: readonly RunEventRecord[]): Set<number> {
  const last = new Map<string, number>()
  for (const event of events) {
    const waitId = (event.data as { wait_id?: unknown } | null)?.wait_id
    if (APPROVAL_UPDATES.has(event.type) && typeof waitId === 'string') last.set(waitId, event.seq)
  }
  return new Set(last.values())
}

export function createSlackNotifier(deps: NotifierDeps) {
  const { reads, outbox } = deps
  const mirrored = new Map<string, number>()
  const queue = new Map<string, Promise<void>>()
  const notStarted = new Set<string>()
  const coalesceMs = deps.coalesceMs ?? 100
  const updateIntervalMs = deps.updateIntervalMs ?? DEFAULT_UPDATE_INTERVAL_MS
  /** When each run's last mirror pass started, while that still delays the next one. */
  const lastPass = new Map<string, number>()
  /** Waits in progress, so idle() can cut them short. */
  const waits = new Set<() => void>()
  let hurry = false

  /** The wait before a run's next pass: the coalescing window, or what is left of the interval since its last. */
  function delayOf(runId: string): number {
    const last = lastPass.get(runId)
    return last === undefined ? coalesceMs : Math.max(coalesceMs, last + updateIntervalMs - deps.clock.now())
  }

  function sleep(ms: number): Promise<void> {
    if (hurry) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        waits.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      waits.add(done)
    })
  }

  /** Forgets passes that no longer delay anything (a run mirrored once keeps no entry for long). */
  function prune(now: number): void {
    if (lastPass.size < 1000) return
    for (const [runId, at] of lastPass) if (at + updateIntervalMs <= now) lastPass.delete(runId)
  }

  const message = (m: Message) => ({ text: m.text, blocks: m.blocks })
  // Every vote re-renders its approval message; the diff (a content-addressed, immutable resource) is read once.
  const diffs = new Map<string, string | undefined>()
  async function diffText(ref: string): Promise<string | undefined> {
    if (!diffs.has(ref)) {
      if (diffs.size >= 100) diffs.delete(diffs.keys().next().value as string)
      diffs.set(ref, await resolveText(deps.resources, ref))
    }
    return diffs.get(ref)
  }
  const dm = (runId: string, suffix: string, user: string, m: Message): OutboxItem => ({
    key: `ev:${runId}:${suffix}`,
    runId,
    method: 'chat.postMessage',
    payload: { channel: user, ...message(m) },
  })

  async function approvalView(
    run: RunRecord,
    flow: CompiledFlow,
    wait: WaitRecord,
    state?: ApprovalMessageInput['state'],
  ) {
    const spec = specOf(wait, 'approval')
    const votes = await reads.votes(wait.id)
    const diff = spec.diff === null ? null : await diffText(spec.diff)
    return approvalMessage({
      waitId: wait.id,
      digest: wait.digest ?? '',
      runId: run.id,
      stepId: wait.stepId,
      stepName: flow.steps.find((s) => s.id === wait.stepId)?.def.name,
      flow: { slug: run.flowSlug, name: flow.definition.name, version: run.version },
      requestedBy: run.initiator,
      message: spec.message,
      diff: diff ?? null,
      required: spec.required,
      votes: votes.map((v) => ({
        voter: v.voter,
        decision: v.decision as never,
        comment: v.comment,
        digest: v.digest,
        at: v.at,
      })),
      deadlineAt: wait.deadlineAt,
      edit: spec.edit,
      viewUrl: deps.approvalUrl?.(wait.id),
      ...(state ? { state } : {}),
    })
  }

  /** The tally of the open approval a waiting run stands on (`1 of 2 approvals`), for the card's waiting line. */
  async function openApprovalTally(run: RunRecord): Promise<string | undefined> {
    const on = run.waitingOn
    if (run.status !== 'waiting' || on?.kind !== 'approval') return undefined
    const wait = on.wait_id
      ? await reads.wait(on.wait_id)
      : (await reads.listWaits({ status: ['open'], runId: run.id, kind: 'approval', limit: 10 })).find(
          (w) => w.stepId === on.step,
        )
    if (wait?.status !== 'open') return undefined
    const t = tally((await reads.votes(wait.id)) as never, specOf(wait, 'approval').required, wait.digest ?? '')
    return `${t.approvals} of ${t.required} approval${t.required === 1 ? '' : 's'}`
  }

  async function card(run: RunRecord, flow: CompiledFlow): Promise<Message> {
    const [steps, waitingDetail] = await Promise.all([reads.stepRuns(run.id), openApprovalTally(run)])
    return runCard({
      run: { ...run, waitingOn: run.status === 'waiting' ? run.waitingOn : null },
      flowName: flow.definition.name,
      steps: stepChecklist(
        flow.steps.map((s) => ({ id: s.id, name: s.def.name })),
        steps,
        { status: run.status, cursor: run.cursor, waitingOn: run.waitingOn, error: run.error },
      ),
      ...(waitingDetail === undefined ? {} : { waitingDetail }),
    })
  }

  /** Thread messages (and approval-message updates) for one event; null when the event shows nothing. */
  async function itemsFor(
    run: RunRecord,
    flow: CompiledFlow,
    channel: string,
    event: RunEventRecord,
  ): Promise<OutboxItem[]> {
    const data = (event.data ?? {}) as Record<string, unknown>
    const reply = (m: Message, key = `ev:${run.id}:${event.seq}`): OutboxItem => ({
      key,
      runId: run.id,
      method: 'chat.postMessage',
      payload: { channel, ...message(m) },
      dependsOn: cardKey(run.id),
    })
    const waitId = typeof data.wait_id === 'string' ? data.wait_id : undefined
    const wait = waitId ? await reads.wait(waitId) : undefined
    switch (event.type) {
      case 'wait.opened': {
        if (!wait) return []
        if (wait.kind === 'approval') {
          const items = [reply(await approvalView(run, flow, wait), approvalKey(wait.id))]
          // A new revision of the request (after changes were requested) retires the previous message for good.
          const previous = wait.visit > 1 ? await reads.waitAt(run.id, wait.stepId, wait.visit - 1) : undefined
          if (previous?.kind === 'approval') {
            items.push({
              key: `superseded:${previous.id}`,
              runId: run.id,
              method: 'chat.update',
              payload: {
                channel,
                ...message(
                  await approvalView(run, flow, previous, {
                    kind: 'superseded',
                    decided: decidedState(previous, event.at),
                  }),
                ),
              },
              dependsOn: approvalKey(previous.id),
            })
          }
          const shownDiff = specOf(wait, 'approval').diff
          const diff = shownDiff === null ? undefined : await diffText(shownDiff)
          if (diff) {
            items.push({
              key: `diff:${wait.id}`,
              runId: run.id,
              method: 'files.uploadV2',
              payload: {
                channel_id: channel,
                content: diff,
                filename: `${wait.stepId}.diff`,
                title: `${wait.stepId}.diff`,
                snippet_type: 'diff',
              },
              dependsOn: cardKey(run.id),
            })
          }
          return items
        }
        if (wait.kind === 'input') {
          const spec = specOf(wait, 'input')
          const assignees = spec.assignees?.users ?? []
          return [
            reply(
              inputRequestMessage({
                waitId: wait.id,
                stepId: wait.stepId,
                message: spec.message,
                assignees,
                deadlineAt: wait.deadlineAt,
              }),
            ),
          ]
        }
        if (wait.kind === 'wait' || wait.kind === 'job') {
          return [
            reply(
              waitOpenedMessage({
                stepId: wait.stepId,
                kind: wait.kind,
                notify: (data.notify as string) ?? null,
                deadlineAt: wait.deadlineAt,
              }),
            ),
          ]
        }
        return []
      }
      case 'wait.heartbeat':
        return typeof data.progress === 'string'
          ? [reply(waitProgressMessage({ stepId: event.stepId ?? '', progress: data.progress, at: event.at }))]
          : []
      case 'approval.voted':
      case 'approval.decided':
      case 'approval.timed_out': {
        if (!wait) return []
        const state = decidedState(wait, event.at)
        return [
          {
            key: `ev:${run.id}:${event.seq}`,
            runId: run.id,
            method: 'chat.update',
            payload: {
              channel,
              ...message(await approvalView(run, flow, wait, state)),
            },
            dependsOn: approvalKey(wait.id),
          },
        ]
      }
      case 'approval.edited': {
        // The message itself is updated by the vote that follows; the thread says who changed what.
        if (!wait) return []
        const spec = specOf(wait, 'approval')
        const t = tally((await reads.votes(wait.id)) as never, spec.required, wait.digest ?? '')
        const voided = typeof data.voided_approvals === 'number' ? data.voided_approvals : 0
        // While it is still open, the listed approvers who have not approved the edited version are asked to.
        const listed = wait.status === 'open' ? [...new Set([...spec.approvers.users, ...spec.escalatedTo])] : []
        const pending = listed.filter(
          (u) => !t.approvers.includes(u) && u !== event.actor && (spec.allowSelfApproval || u !== spec.initiator),
        )
        const fields = Object.keys((data.fields ?? {}) as Record<string, unknown>)
        return [
          reply(editNoticeMessage({ stepId: wait.stepId, by: event.actor ?? 'someone', fields, voided, pending })),
        ]
      }
      case 'approval.reminded': {
        if (!wait) return []
        const spec = specOf(wait, 'approval')
        const t = tally((await reads.votes(wait.id)) as never, spec.required, wait.digest ?? '')
        // Listed approvers and the people escalation added who have not approved yet.
        const users = [...new Set([...spec.approvers.users, ...spec.escalatedTo])].filter(
          (u) => !t.approvers.includes(u),
        )
        const m = reminderMessage({ stepId: wait.stepId, pending: users, approvals: t.approvals, required: t.required })
        // Reminders go to the thread and, for listed approvers who have not voted, by direct message.
        return [reply(m), ...users.map((user) => dm(run.id, `${event.seq}:dm:${user}`, user, m))]
      }
      case 'approval.escalated': {
        if (!wait) return []
        const spec = specOf(wait, 'approval')
        const t = tally((await reads.votes(wait.id)) as never, spec.required, wait.digest ?? '')
        const to = (data.to as string[] | undefined) ?? []
        const level = typeof data.level === 'number' ? data.level : undefined
        const levels = typeof data.levels === 'number' ? data.levels : undefined
        const m = escalationMessage({
          stepId: wait.stepId,
          to,
          approvals: t.approvals,
          required: t.required,
          ...(level !== undefined && levels !== undefined && levels > 1 ? { level, levels } : {}),
          ...(typeof data.after === 'string' && data.after !== '' ? { after: data.after } : {}),
        })
        // Escalation targets also get a direct message (posting to a user id opens the DM).
        return [reply(m), ...to.map((user) => dm(run.id, `${event.seq}:dm:${user}`, user, m))]
      }
      case 'step.failed': {
        const error = (data.error as { code: string; message: string } | undefined) ?? {
          code: 'step_failed',
          message: 'The step failed.',
        }
        return [reply(stepFailedMessage({ stepId: event.stepId ?? '', error, attempt: Number(data.attempt ?? 1) }))]
      }
      case 'notify': {
        const m = notifyMessage({ text: data.text as string | null, blocks: data.blocks })
        const target = typeof data.channel === 'string' && data.channel !== '' ? data.channel : null
        const dms = Array.isArray(data.dm) ? (data.dm as string[]) : []
        const main: OutboxItem = target
          ? {
              key: `ev:${run.id}:${event.seq}`,
              runId: run.id,
              method: 'chat.postMessage',
              payload: { channel: target, ...message(m) },
            }
          : { ...reply(m), payload: { channel, ...message(m), ...(data.broadcast ? { reply_broadcast: true } : {}) } }
        return [
          main,
          ...dms.map((user) => ({
            key: `ev:${run.id}:${event.seq}:dm:${user}`,
            runId: run.id,
            method: 'chat.postMessage' as const,
            payload: { channel: user, ...message(m) },
          })),
        ]
      }
      case 'run.succeeded':
      case 'run.failed':
      case 'run.canceled':
      case 'run.timed_out':
        return [
          reply(
            runFinishedMessage({
              runId: run.id,
              flowSlug: run.flowSlug,
              version: run.version,
              status: event.type.slice(4) as never,
              startedAt: run.startedAt ?? run.createdAt,
              endedAt: event.at,
              ...(run.error ? { error: run.error } : {}),
            } as never),
          ),
        ]
      default:
        return []
    }
  }

  async function mirror(runId: string): Promise<void> {
    const run = await reads.run(runId)
    if (!run) return
    const flow = await deps.flowOf(run.revisionId)
    const channel = runChannel(run, flow, deps.defaultChannel)
    if (!channel) return
    const view = await card(run, flow)
    await outbox.enqueue({
      key: cardKey(run.id),
      runId: run.id,
      method: 'chat.postMessage',
      payload: { channel, ...message(view) },
    })
    const from = mirrored.get(run.id) ?? 0
    const events = await reads.events(run.id, from)
    const rerenders = lastApprovalUpdates(events)
    for (const event of events) {
      // An approval message is rendered from the wait's current state, so of several updates in one pass only the
      // last is worth rendering: a burst of 50 votes is one render, not 50.
      if (APPROVAL_UPDATES.has(event.type) && !rerenders.has(event.seq)) continue
      for (const item of await itemsFor(run, flow, channel, event)) await outbox.enqueue(item)
    }
    const last = events.at(-1)?.seq ?? from
    if (last > from) {
      // The card shows the newest state; the outbox sends only the latest of several pending updates.
      await outbox.enqueue({
        key: `${CARD_UPDATE}${run.id}:${last}`,
        runId: run.id,
        method: 'chat.update',
        payload: { channel, ...message(view) },
        dependsOn: cardKey(run.id),
      })
      mirrored.set(run.id, last)
    }
    outbox.kick()
  }

  return {
    /** Called after every committed change of a run; changes of one run are mirrored one after another. */
    onRunChange(runId: string): void {
      // A mirror of this run that has not started yet reads the state after this change too: one is enough, so a
      // burst of votes renders the approval once per pass, not once per vote.
      if (notStarted.has(runId)) return
      notStarted.add(runId)
      const previous = queue.get(runId) ?? Promise.resolve()
      const next = previous
        .then(() => sleep(delayOf(runId)))
        .then(() => {
          notStarted.delete(runId)
          const now = deps.clock.now()
          prune(now)
          lastPass.set(runId, now)
          return mirror(runId)
        })
        .catch((error: unknown) => deps.logger.error({ err: error, run: runId }, 'slack mirror failed'))
        .finally(() => {
          if (queue.get(runId) === next) queue.delete(runId)
        })
      queue.set(runId, next)
    },
    mirror,
    /** Mirrors these runs a few at a time (start-up catch-up), until done or `stopped()` says to quit. */
    async catchUp(runIds: readonly string[], stopped: () => boolean): Promise<void> {
      for (let i = 0; i < runIds.length && !stopped(); i += 8) {
        const batch = runIds.slice(i, i + 8)
        for (const id of batch) this.onRunChange(id)
        await Promise.allSettled(batch.map((id) => queue.get(id)))
      }
    },
    /** Mirrors what is pending now, without waiting out the intervals (at shutdown), and resolves when done. */
    async idle(): Promise<void> {
      hurry = true
      try {
        for (const done of [...waits]) done()
        await Promise.allSettled([...queue.values()])
      } finally {
        hurry = false
      }
    },
  }
}

export type SlackNotifier = ReturnType<typeof createSlackNotifier>
