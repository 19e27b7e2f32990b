// Edit & approve in Slack: opening the form for an eligible approver, and casting its submission as an approve with
// edits (the engine applies every rule of a vote: eligibility, self-approval, quorum, the digest the form showed).
import { specOf } from '../core/wait-spec.ts'
import type { Engine } from '../engine/engine.ts'
import { AppError, isAppError } from '../errors.ts'
import { parseApprovalActionValue } from './views/actions.ts'
import { editApproveModal, editErrorBlock, parseEditMetadata, readEditSubmission } from './views/edit-modal.ts'

export interface EditFormDeps {
  engine: Engine
  client: { apiCall(method: string, args: Record<string, unknown>): Promise<unknown> }
}

/** Refusals worth showing on the form itself (the typed text stays), rather than as an ephemeral message. */
const ON_FORM = new Set(['approval_superseded', 'digest_mismatch', 'invalid_edits', 'edit_too_large'])

export function createEditForms(deps: EditFormDeps) {
  return {
    /** The Edit & approve button: refuses (AppError) whoever may not approve, else opens the prefilled form. */
    async open(input: {
      triggerId: string
      value: string
      user: string
      channel: string | null
      ts: string | null
    }): Promise<void> {
      const target = parseApprovalActionValue(input.value)
      if (!target) return
      // Asked before the form opens, so nobody types corrections a vote would then refuse.
      const wait = await deps.engine.approvals.assertMayApprove(target.wait, input.user, target.digest)
      const edit = specOf(wait, 'approval').edit
      if (!edit) {
        throw new AppError('invalid_edits', 'This approval has no edit fields; approve it as it is.', { status: 400 })
      }
      await deps.client.apiCall('views.open', {
        trigger_id: input.triggerId,
        view: editApproveModal({
          waitId: wait.id,
          digest: wait.digest ?? target.digest,
          stepId: wait.stepId,
          fields: edit.fields,
          ...(input.channel ? { channel: input.channel } : {}),
          ...(input.ts ? { ts: input.ts } : {}),
        }),
      })
    },

    /**
     * The form's submission: an approve with the edited values on the digest the form showed. A refusal about the
     * edit itself (edited meanwhile, bad values) is answered on the form; others are thrown for an ephemeral message.
     */
    async submit(
      user: string,
      metadata: string,
      values: unknown,
    ): Promise<{ errors?: Record<string, string> } | undefined> {
      const meta = parseEditMetadata(metadata)
      if (!meta) return undefined
      const wait = await deps.engine.reads.wait(meta.wait)
      if (wait?.kind !== 'approval') return undefined
      const edit = specOf(wait, 'approval').edit
      if (!edit) return undefined
      const read = readEditSubmission(edit.fields, values)
      try {
        await deps.engine.approvals.vote({
          waitId: wait.id,
          voter: user,
          decision: 'approve',
          comment: read.comment === null ? null : read.comment.replaceAll('\u0000', ''),
          via: 'slack',
          anonymousToken: false,
          digest: meta.digest,
          edits: read.edits,
        })
      } catch (error) {
        if (isAppError(error) && ON_FORM.has(error.code)) {
          const reopen =
            error.code === 'approval_superseded' ? ' Close this form and open Edit & approve again to see it.' : ''
          return { errors: { [editErrorBlock(edit.fields)]: `${error.message}${reopen}`.slice(0, 1900) } }
        }
        throw error
      }
      return undefined
    },
  }
}
