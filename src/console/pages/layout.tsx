// The page frame every console page shares: skip link, navigation, who is signed in, and the sign-out form.
import { raw } from 'hono/html'
import type { Child } from 'hono/jsx'
import type { ConsoleSession } from '../sign-in.ts'

export interface Frame {
  title: string
  session?: ConsoleSession | undefined
  csrf?: string | undefined
  assets: { css: string; diffCss: string; hljsCss: string; js: string }
  /** The SSE URL that refreshes this page's data-live parts. */
  live?: string | undefined
}

export function Layout(props: Frame & { children: Child }) {
  const { session } = props
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="no-referrer" />
          <title>{`${props.title} · Greenlight`}</title>
          <link rel="stylesheet" href={props.assets.css} />
          <link rel="stylesheet" href={props.assets.diffCss} />
          <link rel="stylesheet" href={props.assets.hljsCss} />
          <script src={props.assets.js} defer></script>
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="top">
            <a class="brand" href="/ui/runs">
              Greenlight
            </a>
            {session ? (
              <nav aria-label="Console">
                <ul>
                  <li>
                    <a href="/ui/runs">Runs</a>
                  </li>
                  <li>
                    <a href="/ui/approvals">Approvals</a>
                  </li>
                  <li>
                    <a href="/ui/flows">Flows</a>
                  </li>
                </ul>
              </nav>
            ) : null}
            {session && props.csrf ? (
              <div class="who">
                <span>
                  Signed in as <strong class="mono">{session.actor}</strong>
                </span>
                <form method="post" action="/ui/logout">
                  <input type="hidden" name="_csrf" value={props.csrf} />
                  <button type="submit">Sign out</button>
                </form>
              </div>
            ) : null}
          </header>
          <main id="main" data-live-source={props.live}>
            {props.live ? (
              <p id="live-status" class="live muted" role="status">
                Live updates need JavaScript; reload to see changes.
              </p>
            ) : null}
            {props.children}
          </main>
        </body>
      </html>
    </>
  )
}

export const Status = (props: { value: string }) => (
  <span class={`status status-${props.value}`}>{props.value.replace(/_/g, ' ')}</span>
)

/** What a value block shows at most: a run's inputs or outputs may be megabytes (the CLI reads them whole). */
const SHOWN_CHARS = 100_000

/** A JSON value as an indented, already-redacted block, cut at 100,000 characters. */
export function JsonBlock(props: { value: unknown; label: string }) {
  const text = props.value === undefined ? '—' : (JSON.stringify(props.value, null, 2) ?? '—')
  const cut = text.length > SHOWN_CHARS
  return (
    <pre data-label={props.label}>
      {cut ? text.slice(0, SHOWN_CHARS) : text}
      {cut
        ? `\n… ${(text.length - SHOWN_CHARS).toLocaleString('en')} more characters ('greenlight runs show' reads all)`
        : ''}
    </pre>
  )
}

export const when = (ms: number | null | undefined): string =>
  ms === null || ms === undefined
    ? '—'
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC')

export function duration(from: number | null | undefined, to: number | null | undefined): string {
  if (from == null || to == null) return '—'
  const ms = Math.max(0, to - from)
  if (ms < 1000) return `${ms} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}
