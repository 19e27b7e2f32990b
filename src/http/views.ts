// JSON views of engine records, shared by the API routes (snake_case, ISO times).
import type { ApprovalEdit } from '../core/approvals/edits.ts'
import { tally } from '../core/approvals/policy.ts'
import { decodeWaitSpec } from '../core/wait-spec.ts'
import type { RunEventRecord, RunRecord, StepRunRecord, VoteRecord, WaitRecord } from '../engine/run-ports.ts'

export const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString()

export function runView(run: RunRecord) {
  return {
    id: run.id,
    flow: run.flowSlug,
    version: run.version,
    status: run.status,
    initiator: run.initiator,
    trigger: run.trigger,
    inputs: run.inputs,
    concurrency_key: run.concurrencyKey,
    waiting_on:
      run.status === 'waiting' && run.waitingOn ? { ...run.waitingOn, until: iso(run.waitingOn.until) } : null,
    current_step: run.cursor.step,
    output: run.output ?? null,
    error: run.error,
    ...(run.parentRunId
      ? { parent: { run: run.parentRunId, step: run.parentStep ?? null, visit: run.parentVisit ?? null } }
      : {}),
    created_at: iso(run.createdAt),
    started_at: iso(run.startedAt),
    ended_at: iso(run.endedAt),
  }
}

export function stepView(s: StepRunRecord) {
  return {
    step: s.stepId,
    visit: s.visit,
    kind: s.kind,
    status: s.status,
    attempt: s.attempt,
    output: s.output,
    error: s.error,
    started_at: iso(s.startedAt),
    ended_at: iso(s.endedAt),
  }
}

export function eventView(e: RunEventRecord) {
  return { seq: e.seq, type: e.type, at: iso(e.at), actor: e.actor, step: e.stepId, data: e.data, hash: e.hash }
}

/** An approval's edit fields as the API shows them: current and original values, and every edit so far. */
export function editView(edit: ApprovalEdit) {
  return {
    revision: edit.revision,
    fields: edit.fields.map((f) => ({
      name: f.name,
      type: f.type,
      label: f.label,
      value: f.value,
      original: f.original,
      was_edited: f.value !== f.original,
      edited_by: f.editedBy,
    })),
    history: edit.history.map((h) => ({
      by: h.by,
      at: iso(h.at),
      fields: h.fields,
      replaced: h.replaced,
      digest: h.digest,
    })),
  }
}

export function waitView(w: WaitRecord, votes: VoteRecord[] = []) {
  const base = {
    id: w.id,
    run_id: w.runId,
    step: w.stepId,
    visit: w.visit,
    kind: w.kind,
    status: w.status,
    deadline_at: iso(w.deadlineAt),
    created_at: iso(w.createdAt),
    completed_at: iso(w.completedAt),
  }
  const spec = decodeWaitSpec(w.kind, w.spec)
  if (spec.kind === 'approval') {
    const t = tally(votes as never, spec.required, w.digest ?? '')
    return {
      ...base,
      message: spec.message,
      diff: spec.diff,
      digest: w.digest,
      approvers: spec.approvers,
      ...(spec.escalate.length > 0
        ? {
            escalate: spec.escalate.map((level) => ({ after: level.after, to: level.to })),
            escalated_to: spec.escalatedTo,
          }
        : {}),
      tally: { approvals: t.approvals, required: t.required, approvers: t.approvers },
      ...(spec.edit ? { edit: editView(spec.edit) } : {}),
      votes: votes.map((v) => ({
        user: v.voter,
        decision: v.decision,
        comment: v.comment,
        digest: v.digest,
        via: v.via,
        ...(v.tokenName ? { token: { id: v.tokenId ?? null, name: v.tokenName } } : {}),
        at: iso(v.at),
      })),
      result: w.result,
    }
  }
  if (spec.kind === 'input') return { ...base, fields: spec.fields, assignees: spec.assignees, result: w.result }
  return { ...base, result: w.result }
}
