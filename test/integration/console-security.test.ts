// The console's sign-in and forms refuse what they must, and change nothing when they do: a replayed or expired
// one-time link, a forged cookie, an expired session, a POST without its CSRF token, ineligible and self-approving
// voters; its pages never show a secret; random requests never crash it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { shiftedClock } from '../support/clock.ts'
import { consoleCookie, consoleLink, csrfOf, getPage, postForm, redeem } from '../support/console.ts'
import { createRandom, fuzzRuns, fuzzSeed, NASTY_CHARS } from '../support/fuzz-env.ts'
import { eventually, pushRelease, showRun } from '../support/runs.ts'
import { api, mintToken, startTestServer, type TestServer } from '../support/server.ts'

const SECRET = 'sk_console_SECRET_4711_do_not_show'

const FLOW = `slug: console_sec
inputs:
  note: { type: string, required: true }
  diff: { type: string, required: true }
steps:
  - id: review
    approval:
      message: "Ship {{ inputs.note }}?"
      diff: "{{ inputs.diff }}"
      approvers: { users: [U0ANN, U0BOB, U0INIT] }
      required: 2
`

const EDIT_FLOW = `slug: console_edit
steps:
  - id: review
    approval:
      message: "Send this reply?"
      approvers: { users: [U0ANN] }
      edit:
        fields:
          reply: { type: textarea, label: Reply to the customer, value: "Hello,\\nwe are on it." }
          subject: { value: "Re: ticket" }
  - id: send
    transform: "{{ steps.review.output.edited }}"
`

const DIFF = (extra: string) =>
  `diff --git a/app.ts b/app.ts\n--- a/app.ts\n+++ b/app.ts\n@@ -1,3 +1,3 @@\n const a = 1\n-const key = 'old'\n+const key = '${extra}'\n const b = 2\n${Array.from({ length: 80 }, (_, i) => ` // filler line ${i} to make the diff a resource`).join('\n')}\n`

const clock = shiftedClock()

describe('console security', () => {
  let server: TestServer
  const tokens: Record<string, string> = {}
  let runId = ''
  let waitId = ''

  beforeAll(async () => {
    server = await startTestServer({ GREENLIGHT_RESOURCE_THRESHOLD: '1024' }, { clock })
    await pushRelease(server, FLOW)
    await pushRelease(server, EDIT_FLOW)
    expect((await api(server, 'PUT', '/api/v1/secrets/console_key', { value: SECRET })).status).toBe(201)
    tokens.init = (await mintToken(server, 'init', ['runs:write', 'runs:read', 'approvals:decide'], 'U0INIT')).secret
    tokens.ann = (await mintToken(server, 'ann', ['approvals:decide', 'runs:read'], 'U0ANN')).secret
    tokens.out = (await mintToken(server, 'out', ['approvals:decide', 'runs:read'], 'U0OUT')).secret
    tokens.none = (await mintToken(server, 'none', ['runs:write'])).secret
    tokens.voter = (await mintToken(server, 'voter', ['approvals:decide'], 'U0BOB')).secret
    const started = await api(
      server,
      'POST',
      '/api/v1/runs',
      { flow: 'console_sec', inputs: { note: `v2 with ${SECRET}`, diff: DIFF(SECRET) }, wait: true },
      tokens.init,
    )
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    runId = (started.body.data as { run: { id: string } }).run.id
    waitId = (await showRun(server, runId)).run.waiting_on.wait_id
  })
  afterAll(async () => server.close())

  const votes = async () =>
    ((await api(server, 'GET', `/api/v1/waits/${waitId}`)).body.data as never as { wait: { votes: unknown[] } }).wait
      .votes

  it('prints a one-time URL from `greenlight console login`, in one JSON envelope', async () => {
    const result = await runCli(['console', 'login'], {
      env: { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: tokens.ann as string },
    })
    expect(result.code, result.stderr).toBe(0)
    const doc = result.json as { ok: boolean; data: { url: string; expires_at: string; as: string } }
    expect(doc.ok).toBe(true)
    expect(doc.data.url).toMatch(new RegExp(`^${server.url}/ui/login/gll_[A-Za-z0-9_-]{43}$`))
    expect(doc.data.as).toBe('U0ANN')
    expect(Date.parse(doc.data.expires_at) - clock.now()).toBeGreaterThan(9 * 60_000)
    const refused = await api(server, 'POST', '/api/v1/console/login', {}, tokens.none)
    expect(refused.status).toBe(403)
    expect(refused.body.error?.code).toBe('forbidden')
  })

  it('spends a link only on the POST of its button, once; a replay, an expired or a made-up link sign nobody in', async () => {
    const link = await consoleLink(server, tokens.ann)
    // Link previews GET the URL: that shows the button and spends nothing.
    for (let i = 0; i < 2; i++) {
      const shown = await getPage(server, new URL(link).pathname)
      expect(shown.status).toBe(200)
      expect(shown.html).toContain('<button type="submit" class="primary">Sign in</button>')
    }
    const first = await redeem(server, link)
    expect(first.status).toBe(303)
    const cookie = first.headers.getSetCookie().find((c) => c.startsWith('gl_session=')) ?? ''
    expect(cookie).toMatch(/^gl_session=gls_[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/ui; HttpOnly; SameSite=Lax$/)
    const replay = await redeem(server, link)
    expect(replay.status).toBe(410)
    expect(replay.headers.get('set-cookie')).toBeNull()
    expect(await replay.text()).toContain('already used')

    const stale = await consoleLink(server, tokens.ann)
    clock.advance(10 * 60_000 + 1000)
    const expired = await redeem(server, stale)
    expect(expired.status).toBe(410)
    expect(expired.headers.get('set-cookie')).toBeNull()
    expect(await expired.text()).toContain('has expired')

    const madeUp = await redeem(server, `${server.url}/ui/login/gll_${'A'.repeat(43)}`)
    expect(madeUp.status).toBe(404)
    expect(await madeUp.text()).toContain('not valid')
  })

  it('returns to the page that asked for a sign-in (a View full diff link), and only to a console page', async () => {
    const asked = await getPage(server, `/ui/approvals/${waitId}?layout=split`)
    expect(asked.status).toBe(401)
    const back = asked.headers.get('set-cookie')?.split(';')[0] ?? ''
    expect(back).toBe(`gl_return=${encodeURIComponent(`/ui/approvals/${waitId}?layout=split`)}`)
    const secret = (await consoleLink(server, tokens.ann)).split('/').pop() as string
    const signIn = (cookie: string) =>
      fetch(`${server.url}/ui/login`, {
        method: 'POST',
        headers: { cookie },
        body: new URLSearchParams({ link: secret }),
        redirect: 'manual',
      })
    const answer = await signIn(back)
    expect(answer.status).toBe(303)
    expect(answer.headers.get('location')).toBe(`/ui/approvals/${waitId}?layout=split`)
    for (const elsewhere of ['//evil.example/x', 'https://evil.example/', '/ui//evil.example', '/api/v1/tokens']) {
      const other = (await consoleLink(server, tokens.ann)).split('/').pop() as string
      const sent = await fetch(`${server.url}/ui/login`, {
        method: 'POST',
        headers: { cookie: `gl_return=${encodeURIComponent(elsewhere)}` },
        body: new URLSearchParams({ link: other }),
        redirect: 'manual',
      })
      expect(sent.headers.get('location'), elsewhere).toBe('/ui/runs?notice=signed_in')
    }
  })

  it('marks the session cookie Secure when PUBLIC_URL is https', async () => {
    const https = await startTestServer({ PUBLIC_URL: 'https://greenlight.example' })
    try {
      const link = await consoleLink(https)
      expect(link).toMatch(/^https:\/\/greenlight\.example\/ui\/login\/gll_/)
      const answer = await redeem(https, link)
      expect(answer.status).toBe(303)
      expect(answer.headers.getSetCookie().find((c) => c.startsWith('gl_session='))).toMatch(
        /; Path=\/ui; HttpOnly; Secure; SameSite=Lax$/,
      )
    } finally {
      await https.close()
    }
  })

  it('lets a voter-only token read approvals, their runs and diffs, and nothing else', async () => {
    const answer = await redeem(server, await consoleLink(server, tokens.voter))
    expect(answer.headers.get('location')).toBe('/ui/approvals?notice=signed_in')
    const cookie = answer.headers
      .getSetCookie()
      .find((c) => c.startsWith('gl_session='))
      ?.split(';')[0]
    const approvals = await getPage(server, '/ui/approvals', cookie)
    expect(approvals.status).toBe(200)
    expect(approvals.html).toContain(`/ui/approvals/${waitId}`)
    expect((await getPage(server, `/ui/approvals/${waitId}`, cookie)).status).toBe(200)
    expect((await getPage(server, `/ui/runs/${runId}`, cookie)).status).toBe(200)
    for (const path of ['/ui/runs', '/ui/flows', '/ui/flows/console_sec']) {
      const refused = await getPage(server, path, cookie)
      expect(refused.status, path).toBe(403)
      expect(refused.html, path).toContain('reads approvals only')
    }
  })

  it('answers a forged or missing cookie with the sign-in page (401), and changes nothing on POST', async () => {
    const none = await getPage(server, `/ui/runs/${runId}`)
    expect(none.status).toBe(401)
    expect(none.html).toContain('<h1>Sign in to the Greenlight console</h1>')
    for (const forged of [`gl_session=gls_${'x'.repeat(43)}`, 'gl_session=not-even-close', 'gl_session=']) {
      const page = await getPage(server, `/ui/approvals/${waitId}`, forged)
      expect(page.status, forged).toBe(401)
      expect(page.html).toContain('Sign in')
      expect(page.html).not.toContain('Ship v2')
      const vote = await postForm(server, `/ui/approvals/${waitId}/vote`, { decision: 'approve', _csrf: 'x' }, forged)
      expect(vote.status).toBe(401)
    }
    expect(await votes()).toEqual([])
  })

  it('refuses a POST without the CSRF token, or with another session’s, and records nothing', async () => {
    const ann = await consoleCookie(server, tokens.ann)
    const other = await consoleCookie(server, tokens.out)
    const otherToken = csrfOf((await getPage(server, '/ui/runs', other)).html)
    for (const fields of [
      { decision: 'approve' } as Record<string, string>,
      { decision: 'approve', _csrf: '' },
      { decision: 'approve', _csrf: otherToken },
    ]) {
      const answer = await postForm(server, `/ui/approvals/${waitId}/vote`, fields, ann)
      expect(answer.status).toBe(403)
      expect(answer.html).toContain('csrf_invalid')
      expect(answer.html).toContain('nothing was changed')
    }
    // A GET never votes, signs out or spends anything.
    expect((await getPage(server, `/ui/approvals/${waitId}/vote?decision=approve`, ann)).status).toBe(404)
    expect((await getPage(server, '/ui/logout', ann)).status).toBe(404)
    expect((await getPage(server, '/ui/runs', ann)).status).toBe(200)
    expect(await votes()).toEqual([])
  })

  it('lets the engine refuse an ineligible voter and self-approval, clearly, and counts an eligible vote', async () => {
    const cases = [
      { token: tokens.out as string, says: /not_eligible.*not one of the approvers/ },
      { token: tokens.init as string, says: /self_approval.*cannot approve it yourself/ },
    ]
    for (const { token, says } of cases) {
      const cookie = await consoleCookie(server, token)
      const page = await getPage(server, `/ui/approvals/${waitId}`, cookie)
      const answer = await postForm(
        server,
        `/ui/approvals/${waitId}/vote`,
        {
          decision: 'approve',
          _csrf: csrfOf(page.html),
          digest: /name="digest" value="([^"]*)"/.exec(page.html)?.[1] ?? '',
        },
        cookie,
      )
      expect(answer.status).toBe(403)
      expect(answer.html).toMatch(says)
    }
    expect(await votes()).toEqual([])

    const ann = await consoleCookie(server, tokens.ann)
    const page = await getPage(server, `/ui/approvals/${waitId}`, ann)
    expect(page.html).toContain('0 of 2 approvals')
    const digest = /name="digest" value="([^"]*)"/.exec(page.html)?.[1] ?? ''
    const wrongDigest = await postForm(
      server,
      `/ui/approvals/${waitId}/vote`,
      { decision: 'approve', _csrf: csrfOf(page.html), digest: 'f'.repeat(64) },
      ann,
    )
    expect(wrongDigest.status).toBe(409)
    expect(await votes()).toEqual([])
    const cast = await postForm(
      server,
      `/ui/approvals/${waitId}/vote`,
      { decision: 'approve', _csrf: csrfOf(page.html), digest, comment: 'LGTM' },
      ann,
    )
    expect(cast.status).toBe(303)
    expect(cast.headers.get('location')).toBe(`/ui/approvals/${waitId}?notice=recorded`)
    expect(await votes()).toMatchObject([
      { user: 'U0ANN', decision: 'approve', comment: 'LGTM', via: 'console', token: { name: 'ann' } },
    ])
    expect((await getPage(server, `/ui/approvals/${waitId}?notice=recorded`, ann)).html).toContain('1 of 2 approvals')
  })

  it('approves with edits from the Edit & approve form, through the same vote path', async () => {
    const started = await api(
      server,
      'POST',
      '/api/v1/runs',
      { flow: 'console_edit', inputs: {}, wait: true },
      tokens.init,
    )
    const id = (started.body.data as { run: { id: string } }).run.id
    const wait = (await showRun(server, id)).run.waiting_on.wait_id
    const ann = await consoleCookie(server, tokens.ann)
    const page = await getPage(server, `/ui/approvals/${wait}`, ann)
    expect(page.html).toContain('<h2 id="edit-title">Edit &amp; approve</h2>')
    expect(page.html).toContain('<label for="edit-reply">Reply to the customer</label>')
    expect(page.html).toMatch(/<textarea id="edit-reply" name="edit.reply"[^>]*>\nHello,\nwe are on it.<\/textarea>/)
    const fields = {
      _csrf: csrfOf(page.html),
      digest: /name="digest" value="([^"]*)"/.exec(page.html)?.[1] ?? '',
      decision: 'approve',
      'edit.reply': 'Hello,\r\nfixed in v2.',
      'edit.subject': 'Re: ticket',
    }
    const refused = await postForm(server, `/ui/approvals/${wait}/vote`, { ...fields, 'edit.nope': 'x' }, ann)
    expect(refused.status).toBe(400)
    expect((await showRun(server, id)).run.status).toBe('waiting')
    const cast = await postForm(server, `/ui/approvals/${wait}/vote`, fields, ann)
    expect(cast.status, cast.html).toBe(303)
    const done = await eventually(
      async () => {
        const shown = await showRun(server, id)
        return shown.run.status === 'succeeded' ? shown : undefined
      },
      () => 'the edited approval to finish the run',
    )
    expect(JSON.stringify(done.run.output)).toContain('Hello,\\nfixed in v2.')
  })

  it('never shows a secret: run, approval and resource pages show it masked', async () => {
    const cookie = await consoleCookie(server)
    const resources = (await api(server, 'GET', `/api/v1/resources?run=${runId}`)).body.data as {
      resources: { ref: string }[]
    }
    expect(resources.resources.length).toBeGreaterThan(0)
    const pages = [
      `/ui/runs/${runId}`,
      `/ui/approvals/${waitId}`,
      `/ui/approvals/${waitId}?layout=split`,
      ...resources.resources.flatMap((r) => [
        `/ui/resources/${r.ref.slice(6)}`,
        `/ui/resources/${r.ref.slice(6)}/download`,
      ]),
    ]
    for (const path of pages) {
      const page = await getPage(server, path, cookie)
      expect(page.status, path).toBe(200)
      expect(page.html, path).not.toContain(SECRET)
      expect(page.html, path).not.toContain(SECRET.slice(0, 20))
      expect(page.html, path).toContain('***')
    }
  })

  it('ends a session after 12 hours: pages ask to sign in again and a form posted with it changes nothing', async () => {
    const cookie = await consoleCookie(server, tokens.ann)
    const page = await getPage(server, `/ui/approvals/${waitId}`, cookie)
    const csrf = csrfOf(page.html)
    clock.advance(12 * 60 * 60_000 + 60_000)
    const later = await getPage(server, `/ui/approvals/${waitId}`, cookie)
    expect(later.status).toBe(401)
    expect(later.html).toContain('Your session has expired or is not valid')
    expect(later.headers.getSetCookie()).toContainEqual(expect.stringMatching(/^gl_session=; Max-Age=0/))
    const vote = await postForm(
      server,
      `/ui/approvals/${waitId}/vote`,
      { decision: 'reject', comment: 'late', _csrf: csrf },
      cookie,
    )
    expect(vote.status).toBe(401)
    expect(await votes()).toHaveLength(1)
  })

  it('answers random paths, queries and forms without a server error (randomized)', async () => {
    const seed = fuzzSeed(1717)
    const rnd = createRandom(seed)
    const cookie = await consoleCookie(server, tokens.ann)
    const csrf = csrfOf((await getPage(server, '/ui/runs', cookie)).html)
    const paths = [
      '/ui/runs',
      `/ui/runs/${runId}`,
      `/ui/approvals/${waitId}`,
      '/ui/flows',
      '/ui/flows/console_sec',
      '/ui/resources/',
      '/ui/login/',
      `/ui/approvals/${waitId}/vote`,
      '/ui/logout',
      '/ui/login',
    ]
    for (let i = 0; i < fuzzRuns(60); i++) {
      const base = rnd.pick(paths)
      const junk = encodeURIComponent(rnd.string(rnd.int(20), NASTY_CHARS))
      const query = new URLSearchParams({
        [rnd.pick(['page', 'layout', 'from', 'to', 'status', 'before', 'context', 'notice'])]: rnd.string(rnd.int(12)),
      })
      const path = rnd.chance(0.3) ? `${base}${junk}` : `${base}?${query}`
      const where = `FUZZ_SEED=${seed} case ${i}: ${path}`
      const post = rnd.chance(0.4)
      const answer = post
        ? await postForm(
            server,
            path,
            {
              _csrf: rnd.chance(0.5) ? csrf : rnd.string(10),
              decision: rnd.pick(['approve', 'nope', '']),
              comment: rnd.string(rnd.int(40)),
            },
            cookie,
          )
        : await getPage(server, path, rnd.chance(0.8) ? cookie : undefined)
      expect(answer.status, where).toBeLessThan(500)
    }
    await eventually(
      async () => ((await votes()).length >= 1 ? true : undefined),
      () => 'votes readable',
    )
  })
})
