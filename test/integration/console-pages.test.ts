// The console's pages over real runs, without JavaScript: runs filtered and paged, a run's timeline, a resource's
// preview and download, flows with versions, the live marker and a diff between two revisions, and the assets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consoleCookie, getPage } from '../support/console.ts'
import { pushRelease, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const V1 = `slug: console_pages
name: Pages example
inputs:
  n: { type: integer, required: true }
steps:
  - id: double
    transform: "{{ inputs.n * 2 }}"
`
const BIG = `slug: console_pages_big
inputs:
  text: { type: string, required: true }
steps:
  - id: echo
    transform: "{{ inputs.text }}"
`
const V2 = V1.replace('inputs.n * 2', 'inputs.n * 3')

describe('console pages', () => {
  let server: TestServer
  let cookie = ''
  const runs: string[] = []

  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_RESOURCE_THRESHOLD: '1024' })
    await pushRelease(server, V1)
    await pushRelease(server, BIG)
    for (let n = 1; n <= 3; n++) {
      const started = await api(server, 'POST', '/api/v1/runs', { flow: 'console_pages', inputs: { n }, wait: true })
      runs.push((started.body.data as { run: { id: string } }).run.id)
    }
    // A draft after the release: the flow page compares the live version with it.
    expect((await api(server, 'POST', '/api/v1/flows', { source: V2 })).status).toBe(201)
    cookie = await consoleCookie(server)
  })
  afterAll(async () => server.close())

  it('lists runs newest first, pages with an "Older runs" link and filters by flow, status and initiator', async () => {
    const first = await getPage(server, '/ui/runs?limit=2', cookie)
    expect(first.status).toBe(200)
    const shown = (html: string) => [...html.matchAll(/href="\/ui\/runs\/(run_[0-9A-Z]{26})"/g)].map((m) => m[1])
    expect(shown(first.html)).toEqual([runs[2], runs[1]])
    const older = /href="(\/ui\/runs\?[^"]+)" rel="next"/.exec(first.html)?.[1]?.replaceAll('&amp;', '&')
    expect(older).toContain(`before=${runs[1]}`)
    expect(shown((await getPage(server, older as string, cookie)).html)).toEqual([runs[0]])
    expect(shown((await getPage(server, '/ui/runs?status=succeeded&flow=console_pages', cookie)).html)).toHaveLength(3)
    expect(shown((await getPage(server, '/ui/runs?status=failed', cookie)).html)).toEqual([])
    expect(shown((await getPage(server, '/ui/runs?initiator=token%3Alocal-admin', cookie)).html)).toHaveLength(3)
    expect(shown((await getPage(server, '/ui/runs?initiator=U0NOBODY', cookie)).html)).toEqual([])
  })

  it('shows a run: facts, inputs, each step with status, attempt, duration and output', async () => {
    const page = await getPage(server, `/ui/runs/${runs[1]}`, cookie)
    expect(page.status).toBe(200)
    expect(page.html).toContain(`<h1>Run <span class="mono">${runs[1]}</span></h1>`)
    expect(page.html).toContain('<span class="status status-succeeded">succeeded</span>')
    expect(page.html).toMatch(/transform · attempt 1 · \d+(\.\d)? (ms|s)/)
    expect(page.html).toContain('&quot;n&quot;: 2')
    expect(page.html).toMatch(/Output of double">4<\/pre>/)
    expect((await getPage(server, '/ui/runs/run_00000000000000000000000000', cookie)).status).toBe(404)
  })

  it('shows the flow, its versions, the live marker and a diff between revisions', async () => {
    const page = await getPage(server, '/ui/flows/console_pages', cookie)
    expect(page.status).toBe(200)
    expect(page.html).toContain('<strong class="status status-succeeded"> live</strong>')
    expect(page.html).toContain('(draft)')
    expect(page.html).toContain('Diff: 1 file')
    expect(page.html).toMatch(/inputs\.n \* <del>2<\/del>|inputs.n \* 2/)
    expect(page.html).toMatch(/<ins>3<\/ins>|inputs.n \* 3/)
    const same = await getPage(server, '/ui/flows/console_pages?from=1&to=1', cookie)
    expect(same.html).toContain('have the same source')
    const list = await getPage(server, '/ui/flows', cookie)
    expect(list.html).toContain('live: v1')
  })

  it('previews a resource and downloads it with its own content type', async () => {
    // An output over GREENLIGHT_RESOURCE_THRESHOLD (1 KiB here) is stored as a resource.
    const big = await api(server, 'POST', '/api/v1/runs', {
      flow: 'console_pages_big',
      inputs: { text: 'line of text\n'.repeat(400) },
      wait: true,
    })
    const id = (big.body.data as { run: { id: string } }).run.id
    await runReaches(server, id, ['succeeded'])
    const stored = await api(server, 'GET', `/api/v1/resources?run=${id}`)
    const refs = (stored.body.data as { resources: { ref: string; media_type: string }[] }).resources
    expect(refs).toHaveLength(1)
    const ref = refs[0] as { ref: string; media_type: string }
    const sha = ref.ref.slice('res://'.length)
    const preview = await getPage(server, `/ui/resources/${sha}`, cookie)
    expect(preview.status).toBe(200)
    expect(preview.html).toContain(ref.media_type)
    const download = await fetch(`${server.url}/ui/resources/${sha}/download`, { headers: { cookie } })
    expect(download.headers.get('content-type')).toBe(ref.media_type)
    expect(download.headers.get('content-disposition')).toContain('attachment')
  })

  it('serves its assets with a year of caching, and pages with no-store and a strict CSP', async () => {
    const page = await getPage(server, '/ui/runs', cookie)
    expect(page.headers.get('cache-control')).toBe('no-store')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(page.headers.get('x-frame-options')).toBe('DENY')
    for (const href of [...page.html.matchAll(/(?:href|src)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1] as string)) {
      const asset = await fetch(`${server.url}${href}`)
      expect(asset.status, href).toBe(200)
      expect(asset.headers.get('cache-control'), href).toBe('public, max-age=31536000, immutable')
      expect((await asset.text()).length, href).toBeGreaterThan(500)
    }
  })
})
