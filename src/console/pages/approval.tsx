// An approval: the request, key facts, digest, the diff, the tally and votes, and the vote form (CSRF-protected).
import type { ApprovalSpec } from '../../core/wait-spec.ts'
import type { RunRecord, VoteRecord, WaitRecord } from '../../engine/run-ports.ts'
import type { DiffViewProps } from './diff.tsx'
import { DiffView } from './diff.tsx'
import type { Frame } from './layout.tsx'
import { Layout, Status, when } from './layout.tsx'

export interface ApprovalPageProps {
  frame: Frame
  wait: WaitRecord
  spec: ApprovalSpec
  run: Pick<RunRecord, 'id' | 'flowSlug' | 'version' | 'initiator'>
  votes: VoteRecord[]
  tally: { approvals: number; required: number; approvers: string[] }
  diff: DiffViewProps | null
  /** A diff that is not in unified format, shown as text. */
  plainDiff: string | null
  attachments: { title: string; href: string | null }[]
  /** Why this session cannot vote, or null when it may try (the engine still decides). */
  cannotVote: string | null
  notice: string | null
}

export function ApprovalPage(props: ApprovalPageProps) {
  const { wait, spec, run, tally } = props
  return (
    <Layout {...props.frame}>
      <h1>Approval: {wait.stepId}</h1>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <section aria-labelledby="request-title">
        <h2 id="request-title">Request</h2>
        <pre class="request">{spec.message || '(no request text)'}</pre>
      </section>
      <section aria-labelledby="facts-title">
        <h2 id="facts-title">Key facts</h2>
        <dl class="facts">
          <dt>Run</dt>
          <dd>
            <a class="mono" href={`/ui/runs/${run.id}`}>
              {run.id}
            </a>{' '}
            ({run.flowSlug} {run.version === null ? 'draft' : `v${run.version}`})
          </dd>
          <dt>Asked by</dt>
          <dd class="mono">{run.initiator}</dd>
          <dt>Quorum</dt>
          <dd>
            {spec.required} approval{spec.required === 1 ? '' : 's'}
          </dd>
          <dt>Approvers</dt>
          <dd class="mono">
            {[...spec.approvers.users, ...spec.approvers.usergroups, ...spec.escalatedTo].join(', ') ||
              (spec.approvers.channel ? `members of ${spec.approvers.channel}` : "members of the run's channel")}
          </dd>
          <dt>Times out</dt>
          <dd>{when(wait.deadlineAt)}</dd>
          <dt>Artifact digest</dt>
          <dd class="mono">sha256:{wait.digest ?? '—'}</dd>
        </dl>
      </section>
      <section aria-labelledby="tally-title" id="approval-tally" data-live>
        <h2 id="tally-title">Tally</h2>
        <p>
          <Status value={wait.status} />{' '}
          <span class="tally" data-testid="tally">
            {tally.approvals} of {tally.required} approvals
          </span>
        </p>
        {props.votes.length === 0 ? (
          <p class="muted">No votes yet.</p>
        ) : (
          <ul class="votes">
            {props.votes.map((v) => (
              <li>
                <span class="mono">{v.voter}</span>: {v.decision.replace('_', ' ')}
                {v.comment ? (
                  <>
                    {' '}
                    <q>{v.comment}</q>
                  </>
                ) : null}{' '}
                <span class="muted">
                  via {v.via}
                  {v.digest !== wait.digest ? ', on an earlier revision' : ''} · {when(v.at)}
                </span>
              </li>
            ))}
          </ul>
        )}
        {wait.status !== 'open' && wait.result ? (
          <p>
            Outcome: <strong>{String((wait.result as { decision?: unknown }).decision ?? wait.status)}</strong>
          </p>
        ) : null}
      </section>
      {spec.edit && spec.edit.fields.length > 0 ? <EditFields {...props} /> : null}
      {wait.status === 'open' ? <VoteForm {...props} /> : null}
      {props.attachments.length > 0 ? (
        <section aria-labelledby="attachments-title">
          <h2 id="attachments-title">Attachments</h2>
          <ul>
            {props.attachments.map((a) => (
              <li>{a.href ? <a href={a.href}>{a.title}</a> : a.title}</li>
            ))}
          </ul>
        </section>
      ) : null}
      {props.diff ? <DiffView {...props.diff} /> : null}
      {props.plainDiff !== null ? (
        <section aria-labelledby="diff-title">
          <h2 id="diff-title">Diff</h2>
          <pre>{props.plainDiff}</pre>
        </section>
      ) : null}
    </Layout>
  )
}

function VoteForm(props: ApprovalPageProps) {
  if (props.cannotVote)
    return (
      <section aria-labelledby="vote-title">
        <h2 id="vote-title">Vote</h2>
        <p class="muted">{props.cannotVote}</p>
      </section>
    )
  return (
    <section aria-labelledby="vote-title">
      <h2 id="vote-title">Vote</h2>
      <form class="vote" method="post" action={`/ui/approvals/${props.wait.id}/vote`}>
        <input type="hidden" name="_csrf" value={props.frame.csrf ?? ''} />
        <input type="hidden" name="digest" value={props.wait.digest ?? ''} />
        <label for="comment">
          Comment <span class="muted">(required to reject or request changes)</span>
        </label>
        <textarea id="comment" name="comment" maxlength={3000}></textarea>
        <div class="buttons">
          <button type="submit" name="decision" value="approve" class="primary">
            Approve
          </button>
          <button type="submit" name="decision" value="request_changes">
            Request changes
          </button>
          <button type="submit" name="decision" value="reject" class="danger">
            Reject
          </button>
        </div>
      </form>
    </section>
  )
}

/** Approve with edits: the values approvers may correct, shown; while open, a form that approves with the edits. */
function EditFields(props: ApprovalPageProps) {
  const edit = props.spec.edit
  if (!edit) return null
  const canEdit = props.wait.status === 'open' && !props.cannotVote
  return (
    <section aria-labelledby="edit-title">
      <h2 id="edit-title">{canEdit ? 'Edit & approve' : 'Edited values'}</h2>
      {edit.revision > 0 ? (
        <p class="muted">
          Revision {edit.revision}: edited by {edit.history.map((h) => h.by).join(', ')}.
        </p>
      ) : null}
      {canEdit ? (
        <form class="vote" method="post" action={`/ui/approvals/${props.wait.id}/vote`}>
          <input type="hidden" name="_csrf" value={props.frame.csrf ?? ''} />
          <input type="hidden" name="digest" value={props.wait.digest ?? ''} />
          <input type="hidden" name="decision" value="approve" />
          {edit.fields.map((f) => (
            <>
              <label for={`edit-${f.name}`}>
                {f.label ?? f.name}
                {f.editedBy ? <span class="muted"> (edited by {f.editedBy})</span> : null}
              </label>
              {f.type === 'textarea' ? (
                <textarea id={`edit-${f.name}`} name={`edit.${f.name}`} maxlength={20_000} rows={8}>
                  {/* HTML drops one newline right after <textarea>: this one, so a value's own first newline stays. */}
                  {`\n${f.value}`}
                </textarea>
              ) : (
                <input id={`edit-${f.name}`} name={`edit.${f.name}`} value={f.value} maxlength={20_000} />
              )}
            </>
          ))}
          <label for="edit-comment">Comment (optional)</label>
          <textarea id="edit-comment" name="comment" maxlength={3000}></textarea>
          <div class="buttons">
            <button type="submit" class="primary">
              Approve with these values
            </button>
          </div>
        </form>
      ) : (
        <dl class="facts">
          {edit.fields.map((f) => (
            <>
              <dt>{f.label ?? f.name}</dt>
              <dd>
                <pre>{f.value}</pre>
              </dd>
            </>
          ))}
        </dl>
      )}
    </section>
  )
}
