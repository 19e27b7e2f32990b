// A 5 MB, 50,000-line diff in the console's approval page, in headless Chromium: how long until the first screen is
// painted (first contentful paint), DOMContentLoaded and load, for the first open (the server parses the diff) and
// the next ones (parsed diff cached), and for page 2. Prints JSON; nothing is asserted (BENCH_DIFF_MB, BENCH_RUNS).
import { launchBrowser } from '../test/support/browser.ts'
import { consoleCookie } from '../test/support/console.ts'
import { pushRelease, showRun } from '../test/support/runs.ts'
import { api, startTestServer } from '../test/support/server.ts'

const TARGET_BYTES = Number(process.env.BENCH_DIFF_MB ?? 5) * 1024 * 1024
const TARGET_LINES = 50_000
const RUNS = Number(process.env.BENCH_RUNS ?? 5)

/** A diff of TypeScript files, 200 lines each (hunks of changed and unchanged lines), near 5 MB and 50,000 lines. */
function bigDiff(): { text: string; lines: number; files: number } {
  const width = Math.floor(TARGET_BYTES / TARGET_LINES) - 1
  const out: string[] = []
  let files = 0
  while (out.length < TARGET_LINES) {
    files++
    const name = `src/module-${files}/service-${files}.ts`
    out.push(`diff --git a/${name} b/${name}`, `--- a/${name}`, `+++ b/${name}`, '@@ -1,190 +1,190 @@')
    for (let i = 0; i < 190; i++) {
      const body = `export const value${i} = compute(${i}, "${'x'.repeat(Math.max(0, width - 40))}")`.slice(
        0,
        width - 1,
      )
      if (i % 10 === 3) out.push(`-${body.replace('compute', 'computeOld')}`, `+${body}`)
      else out.push(` ${body}`)
    }
  }
  const text = `${out.join('\n')}\n`
  return { text, lines: out.length, files }
}

const FLOW = `slug: bench_console_diff
inputs:
  diff: { type: string, required: true }
steps:
  - id: review
    approval:
      message: "A large change"
      diff: "{{ inputs.diff }}"
      approvers: { users: [U0BENCH] }
`

interface Timing {
  first_contentful_paint_ms: number | null
  response_end_ms: number
  dom_content_loaded_ms: number
  load_ms: number
  html_bytes: number
}

const server = await startTestServer({ LOG_LEVEL: 'error' })
const browser = await launchBrowser()
try {
  await pushRelease(server, FLOW)
  const diff = bigDiff()
  const started = await api(server, 'POST', '/api/v1/runs', {
    flow: 'bench_console_diff',
    inputs: { diff: diff.text },
    wait: true,
  })
  if (started.status !== 201) throw new Error(JSON.stringify(started.body))
  const runId = (started.body.data as { run: { id: string } }).run.id
  const waitId = (await showRun(server, runId)).run.waiting_on.wait_id as string
  const cookie = await consoleCookie(server)
  const context = await browser.context()
  await context.addCookies([{ name: 'gl_session', value: cookie.split('=')[1] as string, url: server.url }])
  const page = await context.newPage()

  async function open(path: string) {
    const t0 = Date.now()
    await page.goto(`${server.url}${path}`, { waitUntil: 'load' })
    const wall = Date.now() - t0
    // Evaluated in the page (the bench's types have no DOM): navigation and paint timings.
    const timing = await page.evaluate<Timing>(`(() => {
      const nav = performance.getEntriesByType('navigation')[0]
      const paint = performance.getEntriesByName('first-contentful-paint')[0]
      return {
        first_contentful_paint_ms: paint ? Math.round(paint.startTime) : null,
        response_end_ms: Math.round(nav.responseEnd),
        dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
        load_ms: Math.round(nav.loadEventEnd),
        html_bytes: nav.transferSize || nav.encodedBodySize,
      }
    })()`)
    return { ...timing, wall_ms: wall }
  }

  const first = await open(`/ui/approvals/${waitId}`)
  const warm: (Timing & { wall_ms: number })[] = []
  for (let i = 0; i < RUNS; i++) warm.push(await open(`/ui/approvals/${waitId}?layout=${i % 2 ? 'split' : 'unified'}`))
  const pageTwo = await open(`/ui/approvals/${waitId}?page=2`)
  const median = (key: keyof (typeof warm)[number]) => {
    const values = warm.map((w) => Number(w[key])).sort((a, b) => a - b)
    return values[Math.floor(values.length / 2)]
  }
  const pages = await page.locator('.pager span').first().textContent()
  console.log(
    JSON.stringify(
      {
        bench: 'console-diff',
        diff_bytes: Buffer.byteLength(diff.text),
        diff_lines: diff.lines,
        files: diff.files,
        last_page_label: pages?.trim() ?? null,
        first_open: first,
        next_opens_median: {
          first_contentful_paint_ms: median('first_contentful_paint_ms'),
          dom_content_loaded_ms: median('dom_content_loaded_ms'),
          load_ms: median('load_ms'),
          html_bytes: median('html_bytes'),
        },
        page_two: pageTwo,
        runs: RUNS,
      },
      null,
      2,
    ),
  )
} finally {
  await browser.close()
  await server.close()
}
