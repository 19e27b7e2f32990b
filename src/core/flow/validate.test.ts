import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stepKind } from './model.ts'
import { type FlowProblem, type FlowValidationResult, formatProblem, validateFlowSource } from './validate.ts'

const examplesDir = join(import.meta.dirname, '../../../examples/flows')

function problems(source: string): FlowProblem[] {
  const result = validateFlowSource(source, 'flow.yaml')
  if (result.ok) throw new Error('expected the flow to be invalid')
  return result.problems
}

/** The single problem with `code`; on failure the message lists every problem found. */
function only(list: FlowProblem[], code: string): FlowProblem {
  const found = list.filter((problem) => problem.code === code)
  expect(found, list.map(formatProblem).join('\n')).toHaveLength(1)
  return found[0] as FlowProblem
}

const at = (problem: FlowProblem) => `${problem.line}:${problem.column} ${problem.path}`

describe('the example flows', () => {
  const files = readdirSync(examplesDir).filter((name) => name.endsWith('.yaml'))

  it('include the documented examples', () => {
    expect(files).toEqual(expect.arrayContaining(['agent-fix.yaml', 'support-reply.yaml', 'weekly-report.yaml']))
  })

  it.each(files)('%s validates without warnings and names the editor schema', (name) => {
    const source = readFileSync(join(examplesDir, name), 'utf8')
    expect(source.split('\n')[0]).toBe('# yaml-language-server: $schema=../../schema/flow.schema.json')
    const result = validateFlowSource(source, name)
    const report = result.ok ? result.warnings : result.problems
    expect(report.map(formatProblem)).toEqual([])
    expect(result.ok).toBe(true)
  })

  it('applies defaults and exposes the step kinds', () => {
    const result = validateFlowSource(readFileSync(join(examplesDir, 'agent-fix.yaml'), 'utf8'))
    if (!result.ok) throw new Error('agent-fix.yaml should validate')
    const { flow } = result
    expect(flow.slug).toBe('agent_fix')
    expect(flow.steps.map(stepKind)).toEqual(['ssh', 'wait', 'approval', 'http', 'notify'])
    const [start, , review, merge] = flow.steps
    expect(start?.max_visits).toBe(10)
    expect(start?.on_error).toBe('fail')
    expect(start?.ssh?.detach).toBe(true)
    expect(start?.ssh?.ok_exit_codes).toEqual([0])
    expect(review?.approval?.required).toBe(2)
    expect(review?.approval?.allow_self_approval).toBe(false)
    expect(review?.approval?.on?.changes_requested).toEqual({ goto: 'start_agent' })
    expect(merge?.retry).toEqual({ attempts: 3, backoff: '2s', max_backoff: '30s' })
    if (merge?.http === undefined) throw new Error('merge should be an http step')
    expect([merge.http.method, merge.http.connection, merge.http.expect_status]).toEqual(['PUT', 'github', 200])
    expect(flow.concurrency?.on_conflict).toBe('queue')
  })
})

describe('input that is not a flow', () => {
  it.each([
    ['', 'empty_flow', '1:1 '],
    ['# only a comment\n', 'empty_flow', '1:1 '],
    ['- a\n- b\n', 'invalid_type', '1:1 '],
    ['just a string', 'invalid_type', '1:1 '],
    ['slug: x\nslug: y\nsteps: []\n', 'duplicate_key', '2:1 slug'],
    ['slug: x\nsteps:\n  - id: a\n    notify: { text: a, text: b }\n', 'duplicate_key', '4:24 steps[0].notify.text'],
    ['slug: x\nsteps:\n\t- id: a\n', 'yaml_syntax', '3:1 '],
    ['slug: x\n---\nslug: y\n', 'yaml_syntax', '2:1 '],
  ])('%j → %s at %s', (source, code, position) => {
    expect(at(only(problems(source), code))).toBe(position)
  })

  it('refuses alias bombs instead of expanding them', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
    ].join('\n')
    expect(problems(bomb)[0]?.code).toBe('yaml_alias')
  })

  it('refuses deep nesting, huge files and non-text without throwing', () => {
    expect(problems(`slug: x\nsteps: ${'['.repeat(80)}${']'.repeat(80)}\n`)[0]?.code).toBe('too_deep')
    expect(problems(`slug: x\nsteps: ${'['.repeat(5000)}`)[0]?.code).toBe('nesting_too_deep')
    expect(problems('a: 1\n'.repeat(300_000))[0]?.code).toBe('too_large')
    expect(problems(undefined as unknown as string)[0]?.code).toBe('invalid_input')
    expect(problems('\u0000\u0001\uFFFF\uD800 binary')[0]?.line).toBe(1)
  })

  it('points at a raw NUL character, which a stored source could not keep', () => {
    const found = problems('slug: x\nsteps:\n  - id: a # ok\u0000\n    notify: { text: hi }\n')
    expect(found).toEqual([expect.objectContaining({ code: 'control_character', line: 3, column: 15 })])
    // The escape inside a double-quoted string is a NUL in the value, not in the file: that is fine.
    expect(validateFlowSource('slug: x\nsteps:\n  - id: a\n    notify: { text: "a\\0b" }\n').ok).toBe(true)
  })

  it('reports at most 100 problems and says how many more there are', () => {
    const keys = Array.from({ length: 150 }, (_, i) => `k${i}: 1`).join('\n')
    const list = problems(`slug: x\n${keys}\nsteps: [{ id: a, notify: { text: hi } }]\n`)
    expect(list).toHaveLength(101)
    expect(list[100]).toMatchObject({ code: 'too_many_problems', message: '50 more problem(s) not shown' })
  })

  it('refuses huge numbers as values', () => {
    const source = 'slug: x\nconcurrency: { limit: 1e999 }\nsteps:\n  - id: a\n    notify: { text: hi }\n'
    expect(at(only(problems(source), 'invalid_type'))).toBe('2:23 concurrency.limit')
  })
})

describe('nesting bounded before parsing', () => {
  const deep = 400_000
  const nested = (found: FlowProblem[]) => only(found, 'nesting_too_deep')
  const place = (problem: FlowProblem) => `${problem.line}:${problem.column}`

  it('refuses 400k-deep flow-style YAML at the bracket that goes past 100 levels', () => {
    // The root map is level 1, so the 100th bracket is level 101; "steps: " puts the first at column 8.
    const seqs = nested(problems(`slug: x\nsteps: ${'['.repeat(deep)}${']'.repeat(deep)}\n`))
    expect(place(seqs)).toBe('2:107')
    expect(seqs).toMatchObject({ file: 'flow.yaml', path: '', message: 'nested more than 100 levels deep' })
    expect(place(nested(problems(`slug: x\nsteps: ${'{'.repeat(deep)}${'}'.repeat(deep)}\n`)))).toBe('2:107')
    expect(place(nested(problems(`slug: x\nsteps: ${'{a: '.repeat(deep / 2)}1\n`)))).toBe('2:404')
    // Unclosed is refused the same way, before the parser reports the missing brackets.
    expect(place(nested(problems(`slug: x\nsteps: ${'['.repeat(deep)}`)))).toBe('2:107')
  })

  it('refuses 400k-deep block-style YAML: compact indicators and indentation', () => {
    // `steps:` is level 1 and its sequence, at the same indentation, level 2.
    expect(place(nested(problems(`slug: x\nsteps:\n${'- '.repeat(deep)}x\n`)))).toBe('3:199')
    // An explicit key at the root's indentation is another root key, so the first `?` adds no level.
    expect(place(nested(problems(`slug: x\nsteps:\n${'? '.repeat(deep)}x\n`)))).toBe('3:201')
    // Indentation alone: level n is a key indented n - 1 spaces; the file stays under the size limit.
    const indented = Array.from({ length: 1200 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')
    expect(place(nested(problems(`${indented} 1\n`)))).toBe('101:101')
  })

  it('counts only structure: brackets and dashes in strings, comments and block scalars are text', () => {
    const text = '[{'.repeat(300)
    const source = [
      'slug: x',
      `# ${text}`,
      'steps:',
      '  - id: a',
      `    notify: { text: "${text}" }`,
      '  - id: b',
      `    notify: { text: '${text}' }`,
      '  - id: c',
      '    notify:',
      '      text: |',
      ...Array.from({ length: 150 }, (_, i) => `        ${'- '.repeat(i)}${text}`),
      '  - id: d',
      '    notify:',
      `      text: a${text}`,
    ].join('\n')
    const result = validateFlowSource(source, 'flow.yaml')
    expect(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n')).toBe(true)
  })

  it('still parses moderately deep flows, and keeps the exact 64-level check after parsing', () => {
    const value = `${'['.repeat(40)}1${']'.repeat(40)}`
    const block = Array.from({ length: 20 }, (_, i) => `${' '.repeat(8 + 2 * i)}k${i}:`).join('\n')
    const source = `slug: x\nsteps:\n  - id: a\n    wait: { default: ${value} }\n  - id: b\n    wait:\n      default:\n${block} 1\n`
    const result = validateFlowSource(source, 'flow.yaml')
    expect(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n')).toBe(true)
    // 65 to 100 levels pass the scan and meet the parsed check, which names the path.
    const ninety = problems(`slug: x\nsteps: ${'['.repeat(90)}${']'.repeat(90)}\n`)
    expect(ninety.map((p) => p.code)).toEqual(['too_deep'])
  })
})

describe('schema problems', () => {
  it('points at a misspelt key and suggests the right one', () => {
    const source = ['slug: x', 'steps:', '  - id: a', '    timout: 5s', '    notify: { text: hi }'].join('\n')
    const problem = only(problems(source), 'unknown_key')
    expect(at(problem)).toBe('4:5 steps[0].timout')
    expect(problem.message).toBe("unknown key 'timout' (did you mean 'timeout'?)")
    expect(problem.fix).toBe('rename it to timeout')
  })

  it('reports a misspelt step kind once, as an unknown key', () => {
    const list = problems('slug: x\nsteps:\n  - id: a\n    approvl: { message: hi }\n')
    expect(list.map((p) => p.code)).toEqual(['unknown_key'])
    expect(list[0]?.message).toContain("did you mean 'approval'")
  })

  it('lists the allowed keys when nothing is close', () => {
    const problem = only(
      problems('slug: x\nslack: { room: "#a" }\nsteps: [{ id: a, sleep: { duration: 1s } }]\n'),
      'unknown_key',
    )
    expect(at(problem)).toBe('2:10 slack.room')
    expect(problem.fix).toBe('remove it; allowed here: channel')
  })

  it('points a missing key at its parent', () => {
    expect(at(only(problems('steps:\n  - id: a\n    notify: { text: hi }\n'), 'missing_key'))).toBe('1:1 slug')
    const step = only(problems('slug: x\nsteps:\n  - notify: { text: hi }\n'), 'missing_key')
    expect(at(step)).toBe('3:5 steps[0].id')
    expect(step.fix).toBe('add id: <string>')
    const approval = only(problems('slug: x\nsteps:\n  - id: a\n    approval:\n      required: 1\n'), 'missing_key')
    expect(at(approval)).toBe('4:5 steps[0].approval.message')
  })

  it('suggests enum values, case included', () => {
    const source =
      'slug: x\nsteps:\n  - id: a\n    http: { url: "https://x.example", method: put }\n    on_error: contnue\n'
    const [method, onError] = problems(source)
    expect(at(method as FlowProblem)).toBe('4:47 steps[0].http.method')
    expect(method?.fix).toBe('write PUT')
    expect(at(onError as FlowProblem)).toBe('5:15 steps[0].on_error')
    expect(onError?.message).toContain('expected fail, continue or { goto: <step id> }')
    expect(onError?.fix).toBe('write continue')
  })

  it('reports the detailed problem inside a union alternative', () => {
    const source = [
      'slug: x',
      'triggers:',
      '  schedule:',
      '    - cron: "0 7 * * 1-5"',
      '    - cronn: "0 8 * * *"',
      'steps: [{ id: a, notify: { text: hi } }]',
    ].join('\n')
    const list = problems(source)
    expect(at(only(list, 'unknown_key'))).toBe('5:7 triggers.schedule[1].cronn')
    expect(at(only(list, 'missing_key'))).toBe('5:7 triggers.schedule[1].cron')
  })

  it('explains an unquoted template', () => {
    const problem = only(
      problems('slug: x\nsteps:\n  - id: a\n    http: { url: {{ inputs.url }} }\n'),
      'unquoted_template',
    )
    expect(at(problem)).toBe('4:13 steps[0].http.url')
    expect(problem.fix).toBe('quote it: "{{ inputs.url }}"')
  })

  it('checks durations, cron expressions and time zones', () => {
    const source = [
      'slug: x',
      'triggers: { schedule: { cron: "61 * * * *", timezone: Europe/Olso } }',
      'steps:',
      '  - id: a',
      '    sleep: { duration: 5 min }',
      '  - id: b',
      '    timeout: 30m1h',
      '    notify: { text: hi }',
    ].join('\n')
    const list = problems(source)
    expect(list.map((p) => `${p.code} ${at(p)}`)).toEqual([
      'invalid_cron 2:31 triggers.schedule.cron',
      'invalid_timezone 2:55 triggers.schedule.timezone',
      'invalid_duration 5:24 steps[0].sleep.duration',
      'invalid_duration 7:14 steps[1].timeout',
    ])
  })

  it('checks the rules between fields of a step', () => {
    const source = [
      'slug: x',
      'steps:',
      '  - id: a',
      '    http: { url: "https://x.example", connection: gh, path: /x }',
      '  - id: b',
      '    http: { connection: gh }',
      '  - id: c',
      '    approval: { message: m, approvers: { users: [U1] }, required: 2 }',
      '  - id: d',
      '    ssh: { connection: vm, command: ls }',
      '    notify: { text: hi }',
      '  - id: e',
      '    kv: { op: set, key: k }',
      '  - id: f',
      '    input: { fields: [{ id: pick, label: Pick, type: select }] }',
    ].join('\n')
    expect(problems(source).map((p) => `${p.code} ${at(p)}`)).toEqual([
      'conflicting_keys 4:18 steps[0].http.url',
      'missing_key 6:5 steps[1].http.path',
      'invalid_value 8:67 steps[2].approval.required',
      'multiple_step_kinds 11:5 steps[3].notify',
      'missing_key 13:15 steps[4].kv.op',
      'missing_key 15:23 steps[5].input.fields[0]',
    ])
  })

  it('checks input definitions', () => {
    const source = [
      'slug: x',
      'inputs:',
      '  issue: { type: integer, default: "42" }',
      '  bad-name: { type: string }',
      '  tone: { enum: [a, b], default: c }',
      'steps: [{ id: a, notify: { text: hi } }]',
    ].join('\n')
    expect(problems(source).map((p) => `${p.code} ${at(p)}`)).toEqual([
      'invalid_value 3:36 inputs.issue.default',
      'invalid_name 4:3 inputs.bad-name',
      'invalid_value 5:34 inputs.tone.default',
    ])
  })
})

describe('formatProblem', () => {
  it('renders file:line:column path: message (fix)', () => {
    const result: FlowValidationResult = validateFlowSource(
      'slug: Bad Slug\nsteps: [{ id: a, notify: { text: hi } }]\n',
      'flows/x.yaml',
    )
    if (result.ok) throw new Error('expected a problem')
    expect(result.problems.map(formatProblem)).toEqual([
      'flows/x.yaml:1:7 slug: slug must start with a lowercase letter and use only a-z, 0-9, _ and - (at most 63 characters) (use a slug such as agent_fix)',
    ])
    expect(formatProblem({ ...(result.problems[0] as FlowProblem), path: '' })).toContain('flows/x.yaml:1:7 (flow): ')
  })
})
