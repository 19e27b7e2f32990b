// The diff viewer: unified or side by side (a link each, so it works without JS), the file list with counts, pages.
import { raw } from 'hono/html'
import type { DiffLayout, ParsedDiff } from '../diff-view.ts'
import { renderDiffPage } from '../diff-view.ts'

export interface DiffViewProps {
  diff: ParsedDiff
  layout: DiffLayout
  page: number
  /** The page's URL without layout/page parameters, e.g. /ui/approvals/wait_1?x=y */
  base: string
  fold: boolean
}

function href(base: string, params: Record<string, string | number>, hash = ''): string {
  const url = new URL(base, 'http://x')
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v))
  return `${url.pathname}${url.search}${hash}`
}

export function DiffView(props: DiffViewProps) {
  const { diff, layout, base, fold } = props
  const pages = diff.pages.length
  const page = Math.min(Math.max(1, props.page), pages)
  const keep = { layout, page, ...(fold ? {} : { context: 'full' }) }
  return (
    <section aria-labelledby="diff-title" class="diff">
      <h2 id="diff-title">
        Diff: {diff.files.length} file{diff.files.length === 1 ? '' : 's'}, <span class="add">+{diff.added}</span>{' '}
        <span class="del">−{diff.deleted}</span>
      </h2>
      <nav class="toggle" aria-label="Diff layout">
        <span>Layout:</span>
        <a
          href={href(base, { ...keep, layout: 'unified' })}
          aria-current={layout === 'unified' ? 'true' : 'false'}
          data-layout="unified"
        >
          Unified
        </a>
        <a
          href={href(base, { ...keep, layout: 'split' })}
          aria-current={layout === 'split' ? 'true' : 'false'}
          data-layout="split"
        >
          Side by side
        </a>
        <a href={href(base, { ...keep, context: fold ? 'full' : 'folded' })}>
          {fold ? 'Show all unchanged lines' : 'Fold unchanged lines'}
        </a>
      </nav>
      <details open={diff.files.length <= 50}>
        <summary>Files ({diff.files.length})</summary>
        <div class="table-wrap">
          <table class="list files">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Change</th>
                <th scope="col">Added</th>
                <th scope="col">Removed</th>
              </tr>
            </thead>
            <tbody>
              {diff.files.slice(0, 2000).map((f) => (
                <tr>
                  <td>
                    <a class="mono" href={href(base, { ...keep, page: f.page }, `#file-${f.index + 1}`)}>
                      {f.status === 'renamed' ? `${f.oldName} → ${f.name}` : f.name}
                    </a>
                  </td>
                  <td>{f.status}</td>
                  <td class="num add">+{f.added}</td>
                  <td class="num del">−{f.deleted}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
      <Pager base={base} keep={keep} page={page} pages={pages} />
      <div class="diff-body" data-diff-layout={layout}>
        {raw(renderDiffPage(diff, page, layout))}
      </div>
      {pages > 1 ? <Pager base={base} keep={keep} page={page} pages={pages} /> : null}
    </section>
  )
}

function Pager(props: { base: string; keep: Record<string, string | number>; page: number; pages: number }) {
  const { page, pages } = props
  if (pages <= 1) return null
  return (
    <nav class="pager" aria-label="Diff pages">
      {page > 1 ? (
        <a href={href(props.base, { ...props.keep, page: page - 1 })} rel="prev">
          ← Previous lines
        </a>
      ) : null}
      <span>
        Page {page} of {pages}
      </span>
      {page < pages ? (
        <a href={href(props.base, { ...props.keep, page: page + 1 })} rel="next">
          Next lines →
        </a>
      ) : null}
    </nav>
  )
}
