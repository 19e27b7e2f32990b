// The runs list (filters by flow, status and initiator; newest first; paged) and the open approvals list.
import type { RunRecord, WaitRecord } from '../../engine/run-ports.ts'
import type { Frame } from './layout.tsx'
import { Layout, Status, when } from './layout.tsx'

export interface RunsFilter {
  flow: string
  status: string
  initiator: string
}

const STATUSES = ['', 'queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled', 'timed_out']

export function RunsPage(props: {
  frame: Frame
  runs: RunRecord[]
  filter: RunsFilter
  next: string | null
  notice: string | null
}) {
  const { filter } = props
  return (
    <Layout {...props.frame}>
      <h1>Runs</h1>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <form class="filters" method="get" action="/ui/runs" aria-label="Filter runs">
        <label>
          Flow
          <input name="flow" value={filter.flow} placeholder="any flow" />
        </label>
        <label>
          Status
          <select name="status">
            {STATUSES.map((s) => (
              <option value={s} selected={s === filter.status}>
                {s === '' ? 'any status' : s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          Started by
          <input name="initiator" value={filter.initiator} placeholder="anyone" />
        </label>
        <button type="submit">Filter</button>
      </form>
      {props.runs.length === 0 ? (
        <p>No run matches.</p>
      ) : (
        <div class="table-wrap">
          <table class="list">
            <caption class="skip">Runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Flow</th>
                <th scope="col">Status</th>
                <th scope="col">Started by</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {props.runs.map((run) => (
                <tr>
                  <td>
                    <a class="mono" href={`/ui/runs/${run.id}`}>
                      {run.id}
                    </a>
                  </td>
                  <td>
                    {run.flowSlug}
                    <span class="muted">@{run.version === null ? 'draft' : `v${run.version}`}</span>
                  </td>
                  <td>
                    <Status value={run.status} />
                    {run.status === 'waiting' && run.waitingOn ? (
                      <span class="muted"> on {run.waitingOn.kind}</span>
                    ) : null}
                  </td>
                  <td class="mono">{run.initiator}</td>
                  <td>{when(run.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.next ? (
        <nav class="pager" aria-label="Pages">
          <a href={props.next} rel="next">
            Older runs →
          </a>
        </nav>
      ) : null}
    </Layout>
  )
}

export function ApprovalsPage(props: {
  frame: Frame
  waits: { wait: WaitRecord; flow: string; mine: boolean }[]
  notice: string | null
}) {
  return (
    <Layout {...props.frame}>
      <h1>Open approvals</h1>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      {props.waits.length === 0 ? (
        <p>No approval is open.</p>
      ) : (
        <ul>
          {props.waits.map(({ wait, flow, mine }) => (
            <li>
              <a href={`/ui/approvals/${wait.id}`}>
                {wait.stepId} in {flow}
              </a>{' '}
              <span class="muted mono">{wait.runId}</span> {mine ? <strong>· waits on you</strong> : null}
            </li>
          ))}
        </ul>
      )}
    </Layout>
  )
}
