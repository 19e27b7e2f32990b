// Flows: the list with live versions, one flow's revisions and versions, and a diff between any two revisions.
import type { FlowRecord, RevisionRecord } from '../../engine/ports.ts'
import type { DiffViewProps } from './diff.tsx'
import { DiffView } from './diff.tsx'
import type { Frame } from './layout.tsx'
import { Layout, when } from './layout.tsx'

export function FlowsPage(props: { frame: Frame; flows: FlowRecord[] }) {
  return (
    <Layout {...props.frame}>
      <h1>Flows</h1>
      {props.flows.length === 0 ? <p>No flow has been pushed yet.</p> : null}
      <ul>
        {props.flows.map((f) => (
          <li>
            <a href={`/ui/flows/${f.slug}`}>{f.slug}</a> {f.name !== f.slug ? <span>{f.name}</span> : null}{' '}
            <span class="muted">{f.liveVersion === null ? 'not released' : `live: v${f.liveVersion}`}</span>
          </li>
        ))}
      </ul>
    </Layout>
  )
}

const label = (r: RevisionRecord) => `r${r.number}${r.version === null ? '' : ` (v${r.version})`}`

export function FlowPage(props: {
  frame: Frame
  flow: FlowRecord
  revisions: RevisionRecord[]
  from: RevisionRecord | undefined
  to: RevisionRecord | undefined
  diff: DiffViewProps | null
}) {
  const { flow, revisions } = props
  return (
    <Layout {...props.frame}>
      <h1>Flow {flow.slug}</h1>
      {flow.description ? <p>{flow.description}</p> : null}
      <h2>Revisions and versions</h2>
      <div class="table-wrap">
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Version</th>
              <th scope="col">Released</th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>
            {[...revisions].reverse().map((r) => (
              <tr>
                <td>
                  r{r.number}
                  {r.number === flow.draftRevision ? <span class="muted"> (draft)</span> : null}
                </td>
                <td>
                  {r.version === null ? '—' : `v${r.version}`}
                  {r.version !== null && r.version === flow.liveVersion ? (
                    <strong class="status status-succeeded"> live</strong>
                  ) : null}
                </td>
                <td>{r.releasedAt ? `${when(r.releasedAt)} by ${r.releasedBy ?? '—'}` : '—'}</td>
                <td>{r.note ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Compare two revisions</h2>
      <form class="filters" method="get" action={`/ui/flows/${flow.slug}`}>
        <label>
          From
          <select name="from">
            {revisions.map((r) => (
              <option value={String(r.number)} selected={r.number === props.from?.number}>
                {label(r)}
              </option>
            ))}
          </select>
        </label>
        <label>
          To
          <select name="to">
            {revisions.map((r) => (
              <option value={String(r.number)} selected={r.number === props.to?.number}>
                {label(r)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Compare</button>
      </form>
      {props.diff && props.diff.diff.files.length > 0 ? (
        <DiffView {...props.diff} />
      ) : props.from && props.to ? (
        <p>
          {label(props.from)} and {label(props.to)} have the same source.
        </p>
      ) : null}
      {props.to ? (
        <>
          <h2>Source of {label(props.to)}</h2>
          <pre>{props.to.source}</pre>
        </>
      ) : null}
    </Layout>
  )
}

export function ResourcePage(props: {
  frame: Frame
  id: string
  mediaType: string
  size: number
  runId: string | null
  preview: string | null
}) {
  return (
    <Layout {...props.frame}>
      <h1>
        Resource <span class="mono">res://{props.id.slice(0, 16)}…</span>
      </h1>
      <dl class="facts">
        <dt>Type</dt>
        <dd class="mono">{props.mediaType}</dd>
        <dt>Size</dt>
        <dd>{props.size.toLocaleString('en')} bytes</dd>
        <dt>Run</dt>
        <dd>
          {props.runId ? (
            <a class="mono" href={`/ui/runs/${props.runId}`}>
              {props.runId}
            </a>
          ) : (
            '—'
          )}
        </dd>
      </dl>
      <p>
        <a href={`/ui/resources/${props.id}/download`} download>
          Download
        </a>
      </p>
      <h2>Preview</h2>
      {props.preview === null ? <p class="muted">No text preview for this type.</p> : <pre>{props.preview}</pre>}
    </Layout>
  )
}
