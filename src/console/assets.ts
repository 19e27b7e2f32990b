// The console's own stylesheet and script, served from memory under /ui/assets/ with the diff2html and highlight.js
// stylesheets; kept in a module so a bundled install serves them too.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const CONSOLE_CSS = `/* Greenlight console: plain, readable at 200 % zoom and on a phone; focus always visible. */
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #fff; --soft: #f6f8fa; --accent: #0b6e4f; --bad: #b42318; --focus: #0969da; }
* { box-sizing: border-box; }
html { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
a { color: #0550ae; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; z-index: 10; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); background: var(--soft); }
header.top .brand { font-weight: 700; color: var(--accent); text-decoration: none; }
header.top nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
header.top .who { margin-left: auto; display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
main { padding: 1rem; max-width: 110rem; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .25rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
table.list { border-collapse: collapse; width: 100%; }
table.list th, table.list td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.table-wrap { overflow-x: auto; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .875rem; }
pre { background: var(--soft); border: 1px solid var(--line); padding: .5rem; overflow: auto; max-height: 24rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.status { display: inline-block; padding: 0 .45rem; border-radius: 1rem; border: 1px solid var(--line); font-size: .85rem; }
.status-succeeded, .status-approved, .status-completed { background: #dafbe1; }
.status-failed, .status-rejected, .status-timed_out, .status-canceled { background: #ffebe9; }
.status-waiting, .status-running, .status-open, .status-queued { background: #fff8c5; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
form.filters, form.vote { display: flex; flex-wrap: wrap; gap: .75rem; align-items: flex-end; }
form.vote { flex-direction: column; align-items: stretch; max-width: 40rem; }
label { display: flex; flex-direction: column; gap: .2rem; font-weight: 600; }
input, select, textarea, button { font: inherit; padding: .35rem .5rem; border: 1px solid #8c959f; border-radius: .3rem; background: var(--bg); color: var(--fg); }
textarea { min-height: 5rem; }
button { cursor: pointer; background: var(--soft); }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.danger { background: var(--bad); color: #fff; border-color: var(--bad); }
.buttons { display: flex; flex-wrap: wrap; gap: .5rem; }
.notice { padding: .5rem .75rem; border: 1px solid var(--line); border-left: 4px solid var(--accent); background: #f0fff4; margin: .5rem 0 1rem; }
.notice.error { border-left-color: var(--bad); background: #fff5f5; }
.muted { color: var(--muted); }
.timeline { list-style: none; padding: 0; margin: 0; }
.timeline > li { border: 1px solid var(--line); border-radius: .4rem; padding: .5rem .75rem; margin-bottom: .5rem; }
.timeline details summary { cursor: pointer; }
.tally { font-size: 1.1rem; font-weight: 600; }
.toggle { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; margin: .5rem 0; }
.toggle a[aria-current="true"] { font-weight: 700; text-decoration: none; border-bottom: 3px solid var(--accent); }
.pager { display: flex; gap: 1rem; flex-wrap: wrap; align-items: center; margin: 1rem 0; }
.files td.num { text-align: right; white-space: nowrap; }
.add { color: #1a7f37; }
.del { color: var(--bad); }
.diff-file { margin-bottom: 1rem; content-visibility: auto; contain-intrinsic-size: auto 40rem; }
.d2h-wrapper { overflow-x: auto; }
.live { font-size: .85rem; }
@media (max-width: 40rem) {
  main { padding: .5rem; }
  dl.facts { grid-template-columns: 1fr; }
  table.list thead { display: none; }
  table.list tr { display: block; border-bottom: 1px solid var(--line); padding: .25rem 0; }
  table.list td { display: block; border: 0; padding: .1rem .25rem; }
  .d2h-files-diff { display: block; }
  .d2h-file-side-diff { width: 100%; margin-right: 0; }
}
`

const CONSOLE_JS = `// Greenlight console live updates: the page works without this file; with it, parts marked data-live refresh when
// the server says the run changed (server-sent events), and the diff layout toggles without a reload of the form.
(() => {
  const source = document.querySelector('[data-live-source]')
  if (!source || !('EventSource' in window)) return
  const status = document.getElementById('live-status')
  const say = (text) => {
    if (status) status.textContent = text
  }
  let refreshing = false
  let again = false
  async function refresh() {
    if (refreshing) {
      again = true
      return
    }
    refreshing = true
    try {
      const response = await fetch(location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin' })
      if (!response.ok) return
      const next = new DOMParser().parseFromString(await response.text(), 'text/html')
      for (const part of document.querySelectorAll('[data-live]')) {
        const fresh = next.getElementById(part.id)
        if (fresh && fresh.innerHTML !== part.innerHTML) part.innerHTML = fresh.innerHTML
      }
      document.body.dataset.refreshed = String(Date.now())
    } finally {
      refreshing = false
      if (again) {
        again = false
        void refresh()
      }
    }
  }
  const events = new EventSource(source.getAttribute('data-live-source'))
  events.addEventListener('open', () => say('Live: updates appear as they happen.'))
  events.addEventListener('change', () => void refresh())
  events.addEventListener('error', () => say('Live updates paused; reconnecting…'))
})()
`

export interface Asset {
  body: string
  type: string
  /** The URL, with a content hash so it may be cached for a year. */
  href: string
}

function fromPackage(spec: string): string {
  try {
    return readFileSync(createRequire(import.meta.url).resolve(spec), 'utf8')
  } catch {
    return ''
  }
}

function asset(name: string, body: string, type: string): [string, Asset] {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12)
  return [name, { body, type, href: `/ui/assets/${name}?v=${hash}` }]
}

export function loadAssets(): Map<string, Asset> {
  return new Map([
    asset('console.css', CONSOLE_CSS, 'text/css; charset=utf-8'),
    asset('console.js', CONSOLE_JS, 'text/javascript; charset=utf-8'),
    asset('diff2html.css', fromPackage('diff2html/bundles/css/diff2html.min.css'), 'text/css; charset=utf-8'),
    asset('highlight.css', fromPackage('highlight.js/styles/github.min.css'), 'text/css; charset=utf-8'),
  ])
}
