// A run: its facts, the step timeline (status, attempt, duration, redacted input and output, events), the wait it is
// parked on with its votes, and its child runs.
import type { RunDetail } from '../../engine/reads.ts'
import type { RunEventRecord } from '../../engine/run-ports.ts'
import type { Frame } from './layout.tsx'
import { duration, JsonBlock, Layout, Status, when } from './layout.tsx'

/** A step of the run's flow revision, in file order: what the timeline lists when it has not run (yet). */
export interface PlannedStep {
  id: string
  kind: string
  name: string | undefined
}

export function RunPage(props: {
  frame: Frame
  detail: RunDetail
  events: RunEventRecord[]
  planned: PlannedStep[]
  now: number
}) {
  const { run, steps, wait, votes, children } = props.detail
  const ran = new Set(steps.map((s) => s.stepId))
  const ended = run.endedAt !== null
  const notRun = props.planned.filter((p) => !ran.has(p.id))
  const eventsOf = (stepId: string | null) => props.events.filter((e) => e.stepId === stepId)
  const runEvents = eventsOf(null)
  return (
    <Layout {...props.frame}>
      <h1>
        Run <span class="mono">{run.id}</span>
      </h1>
      <section aria-labelledby="facts" id="run-facts" data-live>
        <h2 id="facts">Facts</h2>
        <dl class="facts">
          <dt>Flow</dt>
          <dd>
            <a href={`/ui/flows/${run.flowSlug}`}>{run.flowSlug}</a>{' '}
            {run.version === null ? 'draft' : `v${run.version}`}
          </dd>
          <dt>Status</dt>
          <dd>
            <Status value={run.status} />
          </dd>
          <dt>Started by</dt>
          <dd class="mono">{run.initiator}</dd>
          <dt>Trigger</dt>
          <dd>{run.trigger}</dd>
          <dt>Created</dt>
          <dd>{when(run.createdAt)}</dd>
          <dt>Duration</dt>
          <dd>
            {duration(run.startedAt ?? run.createdAt, run.endedAt ?? props.now)}
            {ended ? '' : ' so far'}
          </dd>
          {run.parentRunId ? (
            <>
              <dt>Parent run</dt>
              <dd>
                <a class="mono" href={`/ui/runs/${run.parentRunId}`}>
                  {run.parentRunId}
                </a>
              </dd>
            </>
          ) : null}
        </dl>
        {wait ? (
          <p class="notice">
            Waiting on {wait.kind} <strong>{wait.stepId}</strong>
            {wait.kind === 'approval' ? (
              <>
                {' '}
                (<span class="tally">{votes.length}</span> vote{votes.length === 1 ? '' : 's'} so far):{' '}
                <a href={`/ui/approvals/${wait.id}`}>open the approval</a>
              </>
            ) : null}
          </p>
        ) : null}
        {run.error ? (
          <>
            <h3>Error</h3>
            <JsonBlock label="Run error" value={run.error} />
          </>
        ) : null}
      </section>
      <h2>Inputs</h2>
      <JsonBlock label="Run inputs" value={run.inputs} />
      <section aria-labelledby="timeline-title" id="run-timeline" data-live>
        <h2 id="timeline-title">Steps</h2>
        <ol class="timeline">
          {steps.map((s) => (
            <li>
              <h3>
                {s.stepId}
                {s.visit > 1 ? <span class="muted"> (visit {s.visit})</span> : null} <Status value={s.status} />
              </h3>
              <p class="muted">
                {s.kind} · attempt {s.attempt} · {duration(s.startedAt, s.endedAt)} · started {when(s.startedAt)}
              </p>
              {s.kind === 'approval' && wait?.stepId === s.stepId ? (
                <p>
                  <a href={`/ui/approvals/${wait.id}`}>Open the approval</a>
                </p>
              ) : null}
              <details>
                <summary>Output and error</summary>
                <JsonBlock label={`Output of ${s.stepId}`} value={s.output ?? null} />
                {s.error ? <JsonBlock label={`Error of ${s.stepId}`} value={s.error} /> : null}
              </details>
              <details>
                <summary>Events ({eventsOf(s.stepId).length})</summary>
                <EventList events={eventsOf(s.stepId)} />
              </details>
            </li>
          ))}
          {notRun.map((p) => (
            <li>
              <h3>
                {p.name ?? p.id} <Status value={wait?.stepId === p.id ? 'waiting' : ended ? 'skipped' : 'pending'} />
              </h3>
              <p class="muted">
                {p.kind}
                {wait?.stepId === p.id
                  ? ` · waiting since ${when(wait.createdAt)}`
                  : ended
                    ? ' · not run'
                    : ' · not reached yet'}
              </p>
              {wait?.stepId === p.id && wait.kind === 'approval' ? (
                <p>
                  <a href={`/ui/approvals/${wait.id}`}>Open the approval</a>
                </p>
              ) : null}
              {eventsOf(p.id).length > 0 ? (
                <details>
                  <summary>Events ({eventsOf(p.id).length})</summary>
                  <EventList events={eventsOf(p.id)} />
                </details>
              ) : null}
            </li>
          ))}
        </ol>
        <details>
          <summary>Run events ({runEvents.length})</summary>
          <EventList events={runEvents} />
        </details>
      </section>
      {votes.length > 0 ? (
        <section aria-labelledby="votes-title" id="run-votes" data-live>
          <h2 id="votes-title">Votes</h2>
          <ul>
            {votes.map((v) => (
              <li>
                <span class="mono">{v.voter}</span>: {v.decision.replace('_', ' ')}
                {v.comment ? <q>{v.comment}</q> : null} <span class="muted">({v.via})</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="children-title">
        <h2 id="children-title">Child runs</h2>
        {children.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <ul>
            {children.map((child) => (
              <li>
                <a class="mono" href={`/ui/runs/${child.id}`}>
                  {child.id}
                </a>{' '}
                {child.flowSlug} from step {child.parentStep ?? '—'} <Status value={child.status} />
              </li>
            ))}
          </ul>
        )}
      </section>
    </Layout>
  )
}

function EventList(props: { events: RunEventRecord[] }) {
  if (props.events.length === 0) return <p class="muted">No events.</p>
  return (
    <div class="table-wrap">
      <table class="list">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Event</th>
            <th scope="col">When</th>
            <th scope="col">By</th>
            <th scope="col">Data</th>
          </tr>
        </thead>
        <tbody>
          {props.events.map((e) => (
            <tr>
              <td>{e.seq}</td>
              <td class="mono">{e.type}</td>
              <td>{when(e.at)}</td>
              <td class="mono">{e.actor ?? '—'}</td>
              <td>
                <code>{e.data === null || e.data === undefined ? '' : JSON.stringify(e.data).slice(0, 2000)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
