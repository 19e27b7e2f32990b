// POST /hooks/:slug on a real server: signed requests start runs through the normal start path (pinned to the live
// version, initiator webhook:<flow>); every refusal answers its status and starts nothing; a redelivery starts one run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { githubSignature, greenlightSignature } from '../../src/core/webhook-auth.ts'
import { type Json, pushRelease, runEvents, runReaches } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const GH_SECRET = 'gh-hook-secret'
const CI_TOKEN = 'ci-token-value'

const FLOWS = {
  github: `slug: wh_github
slack: { channel: "#eng-bots" }
inputs:
  repo: { type: string, required: true }
  issue: { type: integer, required: true }
triggers:
  webhook:
    auth: hmac
    secret: gh_hook
    inputs: { repo: "{{ body.repository.full_name }}", issue: "{{ body.issue.number }}" }
    dedupe: "{{ headers.\`x-github-delivery\` }}"
steps:
  - id: done
    transform: "{{ inputs.repo & '#' & $string(inputs.issue) & ' by ' & run.initiator }}"
`,
  bearer: `slug: wh_bearer
inputs: { who: { type: string, default: nobody }, auth: { type: string } }
triggers:
  webhook: { auth: bearer, secret: ci_token, inputs: { who: "{{ query.who }}", auth: "{{ headers.authorization }}" } }
steps:
  - id: hello
    transform: "{{ 'hi ' & inputs.who }}"
`,
  none: `slug: wh_none
steps:
  - id: hello
    transform: "hi"
`,
}

interface Sent {
  status: number
  body: Json
}

describe('webhook triggers', () => {
  let server: TestServer

  async function post(
    slug: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
    query = '',
  ): Promise<Sent> {
    const response = await fetch(`${server.url}/hooks/${slug}${query}`, {
      method: 'POST',
      headers,
      body,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit)
    return { status: response.status, body: await response.json() }
  }

  /** A body signed as GitHub signs it, with a delivery id. */
  function github(payload: unknown, delivery: string, secret = GH_SECRET) {
    const raw = JSON.stringify(payload)
    return {
      raw,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': delivery,
        'x-hub-signature-256': githubSignature(secret, raw),
      },
    }
  }

  async function runsOf(flow: string): Promise<Json[]> {
    const listed = await api(server, 'GET', `/api/v1/runs?flow=${flow}&limit=200`)
    return (listed.body.data as Json).runs
  }

  const issue = (n: number) => ({ action: 'opened', repository: { full_name: 'acme/api' }, issue: { number: n } })

  beforeAll(async () => {
    server = await startTestServer()
    for (const [name, value] of [
      ['gh_hook', GH_SECRET],
      ['ci_token', CI_TOKEN],
    ]) {
      const set = await api(server, 'PUT', `/api/v1/secrets/${name}`, { value })
      expect(set.status).toBe(201)
    }
    for (const source of Object.values(FLOWS)) await pushRelease(server, source)
  })

  afterAll(async () => {
    await server?.close()
  })

  it("starts a run from a GitHub delivery, pinned to the live version, as webhook:<flow> in the flow's channel", async () => {
    const { raw, headers } = github(issue(42), 'delivery-1')
    const sent = await post('wh_github', raw, headers)
    expect(sent.status, JSON.stringify(sent.body)).toBe(202)
    const runId = sent.body.data.run_id as string
    expect(runId).toMatch(/^run_/)
    const shown = await runReaches(server, runId, ['succeeded'])
    expect(shown.run).toMatchObject({
      flow: 'wh_github',
      version: 1,
      trigger: 'webhook',
      initiator: 'webhook:wh_github',
      inputs: { repo: 'acme/api', issue: 42 },
      output: 'acme/api#42 by webhook:wh_github',
    })
    const started = (await runEvents(server, runId)).find((e: Json) => e.type === 'run.started')
    expect(started.data.trigger_details).toEqual({ auth: 'github', dedupe_key: 'delivery-1' })
  })

  it('accepts X-Greenlight-Signature over "t.body"', async () => {
    const raw = JSON.stringify(issue(7))
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'x-github-delivery': 'delivery-greenlight-1',
      'x-greenlight-signature': greenlightSignature(GH_SECRET, raw, Math.floor(Date.now() / 1000)),
    }
    const sent = await post('wh_github', raw, headers)
    expect(sent.status, JSON.stringify(sent.body)).toBe(202)
    await runReaches(server, sent.body.data.run_id, ['succeeded'])
  })

  it('a redelivered event starts one run and answers 409 with the first run id', async () => {
    const { raw, headers } = github(issue(43), 'delivery-twice')
    const first = await post('wh_github', raw, headers)
    expect(first.status).toBe(202)
    const before = (await runsOf('wh_github')).length
    const again = await Promise.all([1, 2, 3].map(() => post('wh_github', raw, headers)))
    for (const sent of again) {
      expect(sent.status, JSON.stringify(sent.body)).toBe(409)
      expect(sent.body.error.code).toBe('duplicate_delivery')
      expect(sent.body.error.details.run_id).toBe(first.body.data.run_id)
    }
    expect((await runsOf('wh_github')).length).toBe(before)
  })

  it('concurrent first deliveries of one event start exactly one run', async () => {
    const { raw, headers } = github(issue(44), 'delivery-race')
    const sent = await Promise.all(Array.from({ length: 8 }, () => post('wh_github', raw, headers)))
    const accepted = sent.filter((s) => s.status === 202)
    expect(accepted).toHaveLength(1)
    expect(sent.filter((s) => s.status === 409)).toHaveLength(7)
    const runs = (await runsOf('wh_github')).filter((r: Json) => r.inputs.issue === 44)
    expect(runs.map((r: Json) => r.id)).toEqual([accepted[0]?.body.data.run_id])
  })

  it('bearer webhooks map query parameters; without dedupe each request starts a run', async () => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${CI_TOKEN}` }
    const one = await post('wh_bearer', '{}', headers, '?who=ci')
    const two = await post('wh_bearer', '{}', headers, '?who=ci')
    expect([one.status, two.status]).toEqual([202, 202])
    expect(one.body.data.run_id).not.toBe(two.body.data.run_id)
    const shown = await runReaches(server, one.body.data.run_id, ['succeeded'])
    expect(shown.run).toMatchObject({ output: 'hi ci', initiator: 'webhook:wh_bearer' })
    // The bearer token is not visible to templates, so it cannot land in the run's inputs.
    expect(shown.run.inputs).toEqual({ who: 'ci' })
  })

  describe('refusals answer their status and start nothing', () => {
    const now = () => Math.floor(Date.now() / 1000)
    const body = JSON.stringify(issue(99))
    const signed = (raw: string | Buffer, extra: Record<string, string> = {}) => ({
      'content-type': 'application/json',
      'x-github-delivery': `d-${Math.random()}`,
      'x-hub-signature-256': githubSignature(GH_SECRET, raw),
      ...extra,
    })
    const cases: [string, () => [string, string | Buffer, Record<string, string>, string?], number, string][] = [
      ['unknown slug', () => ['wh_nope', body, signed(body)], 404, 'not_found'],
      ['a flow without a webhook', () => ['wh_none', body, signed(body)], 404, 'not_found'],
      ['an invalid slug', () => ['%E2%9C%93..', body, signed(body)], 404, 'not_found'],
      ['no signature', () => ['wh_github', body, { 'content-type': 'application/json' }], 401, 'invalid_signature'],
      [
        'a signature with another secret',
        () => ['wh_github', body, { ...signed(body), 'x-hub-signature-256': githubSignature('wrong', body) }],
        401,
        'invalid_signature',
      ],
      ['a signature of another body', () => ['wh_github', `${body} `, signed(body)], 401, 'invalid_signature'],
      [
        'a Greenlight signature older than five minutes',
        () => [
          'wh_github',
          body,
          {
            'content-type': 'application/json',
            'x-github-delivery': 'old',
            'x-greenlight-signature': greenlightSignature(GH_SECRET, body, now() - 301),
          },
        ],
        401,
        'invalid_signature',
      ],
      [
        'a wrong bearer token',
        () => ['wh_bearer', '{}', { 'content-type': 'application/json', authorization: 'Bearer nope' }],
        401,
        'invalid_signature',
      ],
      [
        'a body over 1 MiB',
        () => {
          const big = JSON.stringify({ pad: 'x'.repeat(1024 * 1024) })
          return ['wh_github', big, signed(big)]
        },
        413,
        'payload_too_large',
      ],
      [
        'a chunked body over 1 MiB (no content-length)',
        () => {
          const big = JSON.stringify({ pad: 'x'.repeat(1024 * 1024) })
          const chunks = [big.slice(0, 600_000), big.slice(600_000)]
          const stream = new ReadableStream({
            start(controller) {
              for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk))
              controller.close()
            },
          })
          return ['wh_github', stream as never, signed(big)]
        },
        413,
        'payload_too_large',
      ],
      [
        'a form-encoded body',
        () => [
          'wh_github',
          'payload=%7B%7D',
          signed('payload=%7B%7D', { 'content-type': 'application/x-www-form-urlencoded' }),
        ],
        415,
        'unsupported_media_type',
      ],
      ['a body that is not JSON', () => ['wh_github', '{"issue":', signed('{"issue":')], 415, 'unsupported_media_type'],
      [
        'inputs that do not fit the flow (issue is not an integer)',
        () => {
          const raw = JSON.stringify({ repository: { full_name: 'acme/api' }, issue: { number: 'forty' } })
          return ['wh_github', raw, signed(raw)]
        },
        422,
        'invalid_inputs',
      ],
      [
        'a body without a required input',
        () => {
          const raw = JSON.stringify({ issue: { number: 5 } })
          return ['wh_github', raw, signed(raw)]
        },
        422,
        'invalid_inputs',
      ],
      [
        'a request without the dedupe header',
        () => {
          const headers: Record<string, string> = signed(body)
          delete headers['x-github-delivery']
          return ['wh_github', body, headers]
        },
        422,
        'invalid_inputs',
      ],
    ]

    for (const [name, build, status, code] of cases) {
      it(`${name} → ${status}`, async () => {
        const before = (await api(server, 'GET', '/api/v1/runs?limit=200')).body.data as Json
        const [slug, raw, headers, query] = build()
        const sent = await post(slug, raw, headers, query)
        expect(sent.status, JSON.stringify(sent.body)).toBe(status)
        expect(sent.body.ok).toBe(false)
        expect(sent.body.error.code).toBe(code)
        const after = (await api(server, 'GET', '/api/v1/runs?limit=200')).body.data as Json
        expect(after.runs.length).toBe(before.runs.length)
      })
    }
  })

  it('a flow whose triggers do not list manual cannot be started by hand (its draft can)', async () => {
    const refused = await api(server, 'POST', '/api/v1/runs', { flow: 'wh_github', inputs: { repo: 'a/b', issue: 1 } })
    expect(refused.status, JSON.stringify(refused.body)).toBe(409)
    expect(refused.body.error?.code).toBe('manual_runs_disabled')
    const draft = await api(server, 'POST', '/api/v1/runs', {
      flow: 'wh_github',
      draft: true,
      inputs: { repo: 'a/b', issue: 1 },
    })
    expect(draft.status, JSON.stringify(draft.body)).toBe(201)
  })

  it('follows the live version: promoting a version without a webhook makes the route 404', async () => {
    await pushRelease(server, FLOWS.bearer.replace(/triggers:\n.*\n/, ''))
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${CI_TOKEN}` }
    expect((await post('wh_bearer', '{}', headers)).status).toBe(404)
    const promoted = await api(server, 'POST', '/api/v1/flows/wh_bearer/promote', { version: 1 })
    expect(promoted.status).toBe(200)
    expect((await post('wh_bearer', '{}', headers)).status).toBe(202)
  })
})
