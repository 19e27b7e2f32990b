import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { createRandom, fuzzRuns, fuzzSeed, NASTY_CHARS, randomJson } from '../../../test/support/fuzz-env.ts'
import { buildTemplate, connectionsOf, parseTemplate, TEMPLATE_FORMAT, templateHash } from './flow-template.ts'
import { bindingCommand, bindTemplate } from './template-binding.ts'
import { validateFlowSource } from './validate.ts'

const DIR = join(import.meta.dirname, '..', '..', '..', 'examples', 'templates')
const SHIPPED = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ name: f, text: readFileSync(join(DIR, f), 'utf8') }))

const SOURCE = `slug: tiny
requires: { connections: [api, "vm"] }   # a comment that must survive binding
steps:
  - id: call
    http: { connection: api, path: /x }
  - id: run
    ssh: { connection: "vm", command: echo hi }
`

function parsed(text: string) {
  const result = parseTemplate(text, 't.yaml')
  if (!result.ok) throw new Error(JSON.stringify(result.problems))
  return result
}

describe('flow templates', () => {
  it('ships at least five templates, each valid, with its hash and every connection it uses listed', () => {
    expect(SHIPPED.length).toBeGreaterThanOrEqual(5)
    for (const { name, text } of SHIPPED) {
      const result = parsed(text)
      expect(result.hashMatches, name).toBe(true)
      expect(Object.keys(result.template.requires.connections).sort(), name).toEqual(
        [...connectionsOf(result.flow).keys()].sort(),
      )
    }
  })

  it('builds a template that parses back to the same source and requirements, and whose hash covers both', () => {
    const flow = validateFlowSource(SOURCE)
    if (!flow.ok) throw new Error('fixture invalid')
    const { template, text } = buildTemplate({
      source: SOURCE,
      flow: flow.flow,
      connections: {
        api: { type: 'http', config: { base_url: 'https://x.test', auth: { type: 'bearer', secret: 'k' } } },
      },
    })
    const back = parsed(text)
    expect(back.template).toEqual(template)
    expect(back.hashMatches).toBe(true)
    // The vm connection is unknown to the exporter: its type comes from the ssh step, with no configuration.
    expect(template.requires.connections).toEqual({
      api: {
        type: 'http',
        config: { base_url: 'https://x.test', auth: { type: 'bearer', secret: 'k' } },
        secrets: ['k'],
      },
      vm: { type: 'ssh', config: null, secrets: [] },
    })
    expect(templateHash(SOURCE.replace('/x', '/y'), template.requires)).not.toBe(template.content_hash)
    expect(parsed(text.replace('https://x.test', 'https://y.test')).hashMatches).toBe(false)
    // Requirements that contradict the flow are refused where they are written.
    const wrongType = parseTemplate(text.replace('type: http', 'type: ssh'), 't.yaml')
    expect(wrongType).toMatchObject({
      ok: false,
      problems: [{ code: 'connection_type_mismatch', path: 'requires.connections.api.type' }],
    })
    const unlisted = parseTemplate(text.replace(/ {4}vm:\n.*\n.*\n.*\n/, ''), 't.yaml')
    expect(unlisted).toMatchObject({ ok: false, problems: [{ code: 'unlisted_connection' }] })
  })

  it("lists the secrets the flow names itself (a webhook's) beside those of its connections", () => {
    const source = `slug: hooked
triggers:
  webhook: { auth: hmac, secret: gh_hook }
steps:
  - id: say
    transform: "{{ 1 }}"
`
    const flow = validateFlowSource(source)
    if (!flow.ok) throw new Error(JSON.stringify(flow.problems))
    const { template } = buildTemplate({ source, flow: flow.flow, connections: {} })
    expect(template.requires).toEqual({ connections: {}, secrets: ['gh_hook'] })
  })

  it('binds slug and connection names in place, leaving the rest of the source as written', () => {
    const flow = validateFlowSource(SOURCE)
    if (!flow.ok) throw new Error('fixture invalid')
    const { template } = buildTemplate({ source: SOURCE, flow: flow.flow, connections: {} })
    const bound = bindTemplate(template, { slug: 'tiny_copy', bind: { vm: 'build_box', api: 'api' } })
    if (!bound.ok) throw new Error(bound.message)
    expect(bound.source).toBe(SOURCE.replace('slug: tiny', 'slug: tiny_copy').replaceAll('"vm"', 'build_box'))
    expect(Object.keys(bound.requires.connections)).toEqual(['api', 'build_box'])
    expect(bindTemplate(template, {})).toMatchObject({ ok: true, source: SOURCE })
    expect(bindTemplate(template, { bind: { nope: 'x' } })).toMatchObject({ ok: false, code: 'unknown_binding' })
    expect(bindTemplate(template, { bind: { vm: 'Bad Name' } })).toMatchObject({ ok: false, code: 'invalid_binding' })
    expect(bindTemplate(template, { bind: { vm: 'api' } })).toMatchObject({ ok: false, code: 'invalid_binding' })
    expect(bindTemplate(template, { slug: 'x\nsteps: []' })).toMatchObject({ ok: false, code: 'invalid_slug' })
  })

  it('writes a binding command from the exported configuration, with placeholders where it is unknown', () => {
    expect(bindingCommand('vm', { type: 'ssh', config: null, secrets: [] })).toBe(
      "greenlight connections set vm --type ssh --host '<host>' --user '<user>' --key-secret '<key secret>' --host-key 'SHA256:<fingerprint>'",
    )
    const db = {
      type: 'database' as const,
      config: { url: 'postgres://app@db:5432/x', password_secret: 'pw' },
      secrets: ['pw'],
    }
    expect(bindingCommand('crm', db)).toBe(
      'greenlight connections set crm --type database --url postgres://app@db:5432/x --password-secret pw',
    )
    // A value from someone else's file never reaches the shell unquoted.
    const hostile = { base_url: 'https://h.test', auth: { type: 'bearer', secret: 'k; rm -rf ~' } }
    expect(bindingCommand('h', { type: 'http', config: hostile, secrets: [] })).toBe(
      "greenlight connections set h --type http --base-url https://h.test --bearer-secret 'k; rm -rf ~'",
    )
    const withHeaders = { base_url: 'https://o.test', headers: { 'X-Org': 'acme corp' } }
    expect(bindingCommand('o', { type: 'http', config: withHeaders, secrets: [] })).toBe(
      "greenlight connections set o --type http --base-url https://o.test --header 'X-Org=acme corp'",
    )
    const header = { type: 'header', secret: 'k', header: 'X-Key' }
    expect(
      bindingCommand('p', { type: 'http', config: { base_url: 'https://p.test', auth: header }, secrets: ['k'] }),
    ).toBe('greenlight connections set p --type http --base-url https://p.test --header-secret X-Key=k')
  })

  it('places a problem of the flow inside source: at its line and column in the template file', () => {
    const { text } = { text: SHIPPED.find((t) => t.name === 'deploy-gate.yaml')?.text ?? '' }
    const lines = text.split('\n')
    const at = lines.findIndex((l) => l.includes('remind_every: 30m'))
    lines[at] = (lines[at] as string).replace('30m', 'soon')
    const result = parseTemplate(lines.join('\n'), 'g.yaml')
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.problems[0]).toMatchObject({
      line: at + 1,
      column: (lines[at] as string).indexOf('soon') + 1,
      path: 'source: steps[0].approval.remind_every',
    })
  })

  it('never throws on randomized template documents, and locates every problem', () => {
    const random = createRandom(fuzzSeed(1919))
    const base = SHIPPED.map((t) => t.text)
    let refused = 0
    const runs = fuzzRuns(300)
    for (let i = 0; i < runs; i++) {
      const text = mutate(random.pick(base), random)
      const result = parseTemplate(text, 'f.yaml')
      if (result.ok) {
        const name = () =>
          random.chance(0.7) ? `c${random.string(random.int(6), 'ab_.-9')}` : random.string(3, 'aZ 9')
        const bound = bindTemplate(result.template, {
          slug: random.chance(0.5) ? 'fuzz_copy' : random.string(random.int(6)),
          bind: Object.fromEntries(Object.keys(result.template.requires.connections).map((c) => [c, name()])),
        })
        if (bound.ok) {
          // What binding writes is still a valid flow, naming exactly the bound connections.
          const rebound = validateFlowSource(bound.source)
          expect(rebound.ok, bound.source).toBe(true)
          if (rebound.ok)
            expect([...connectionsOf(rebound.flow).keys()].sort()).toEqual(
              Object.keys(bound.requires.connections).sort(),
            )
        }
        continue
      }
      refused++
      for (const problem of result.problems) {
        expect(problem.line, text).toBeGreaterThanOrEqual(1)
        expect(problem.column, text).toBeGreaterThanOrEqual(1)
        expect(problem.message.length).toBeGreaterThan(0)
      }
    }
    // The mutations must break most documents, or this proves little.
    expect(refused).toBeGreaterThan(runs / 3)
  })

  function mutate(text: string, random: ReturnType<typeof createRandom>): string {
    const lines = text.split('\n')
    for (let n = 1 + random.int(3); n > 0; n--) {
      const at = random.int(lines.length)
      switch (random.int(7)) {
        case 0:
          lines.splice(at, 1)
          break
        case 1:
          lines[at] = ` ${lines[at]}`
          break
        case 2:
          lines.splice(at, 0, random.string(random.int(20), NASTY_CHARS))
          break
        case 3:
          lines[at] = (lines[at] ?? '').slice(0, random.int((lines[at] ?? '').length + 1))
          break
        case 4:
          lines[at] = (lines[at] ?? '').replace(
            /: .*/,
            `: ${stringify(randomJson(random, { keys: ['type', 'config', 'secrets', 'format', 'x'], chosen: ['ssh', 'http', 'database', TEMPLATE_FORMAT] }), { lineWidth: 0 }).split('\n')[0]}`,
          )
          break
        case 5:
          lines.splice(at, 0, `format: ${TEMPLATE_FORMAT}`)
          break
        default:
          lines[at] = (lines[at] ?? '').replace(/[a-z]/, random.string(1))
      }
    }
    return lines.join('\n')
  }
})
