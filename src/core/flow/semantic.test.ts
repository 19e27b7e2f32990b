import { describe, expect, it } from 'vitest'
import { type FlowProblem, formatProblem, validateFlowSource } from './validate.ts'

function problems(source: string): FlowProblem[] {
  const result = validateFlowSource(source, 'flow.yaml')
  if (result.ok) throw new Error('expected the flow to be invalid')
  return result.problems
}

function warnings(source: string): FlowProblem[] {
  const result = validateFlowSource(source, 'flow.yaml')
  if (!result.ok) throw new Error(`expected a valid flow, got:\n${result.problems.map(formatProblem).join('\n')}`)
  return result.warnings
}

/** `line:column path` and the code, for compact assertions on where each problem points. */
const summary = (problem: FlowProblem) => `${problem.code} ${problem.line}:${problem.column} ${problem.path}`

describe('flow-wide checks', () => {
  it('finds duplicate step ids and unknown goto targets', () => {
    const source = [
      'slug: x',
      'steps:',
      '  - id: build',
      '    notify: { text: a }',
      '  - id: build',
      '    notify: { text: b }',
      '    on_error: { goto: biuld_x }',
      '  - id: review',
      '    approval:',
      '      message: ok?',
      '      on: { changes_requested: { goto: buidl } }',
    ].join('\n')
    const list = problems(source)
    expect(list.map(summary)).toEqual([
      'duplicate_step_id 5:9 steps[1].id',
      'unknown_step 7:23 steps[1].on_error.goto',
      'unknown_step 11:40 steps[2].approval.on.changes_requested.goto',
    ])
    expect(list[2]?.message).toBe("goto 'buidl' names no step (did you mean 'build'?)")
    expect(list[1]?.fix).toBe('use one of: build, review')
  })

  it('locates template problems at the character inside the string', () => {
    const source = [
      'slug: x',
      'steps:',
      '  - id: a',
      '    notify: { text: "hello {{ inputs.x + }}" }',
      '  - id: b',
      '    if: "{{ steps.aa.output }}"',
      '    notify:',
      '      text: |',
      '        line one',
      '        {{ env.TOKEN }}',
      '  - id: c',
      "    notify: { text: 'see {{ callbacks.a.url }}' }",
      '  - id: d',
      '    if: inputs.x > 1',
      '    notify: { text: "plain {{ run.id }} text" }',
    ].join('\n')
    const list = problems(source)
    expect(list.map(summary)).toEqual([
      'invalid_expression 4:42 steps[0].notify.text',
      'unknown_step 6:13 steps[1].if',
      'invalid_reference 10:12 steps[1].notify.text',
      'invalid_reference 12:29 steps[2].notify.text',
      'invalid_expression 14:9 steps[3].if',
    ])
    expect(list[0]?.message).toBe('invalid expression: Unexpected end of expression')
    expect(list[1]?.message).toBe("steps.aa names no step (did you mean 'a'?)")
    expect(list[2]?.message).toBe('env is not available in expressions; use a secret/connection')
    expect(list[3]?.message).toContain('only wait and job steps have a callback')
    expect(list[4]?.fix).toBe('write if: "{{ inputs.x > 1 }}"')
  })

  it('checks what each kind of template may read', () => {
    const source = [
      'slug: x',
      'concurrency: { key: "{{ steps.a.output }}" }',
      'triggers:',
      '  webhook: { secret: s, inputs: { n: "{{ inputs.n }}" }, dedupe: "{{ body.id }}" }',
      'steps:',
      '  - id: a',
      '    transform: { expr: "$sum(inputs.x" }',
    ].join('\n')
    expect(problems(source).map(summary)).toEqual([
      'invalid_reference 2:25 concurrency.key',
      'invalid_reference 4:42 triggers.webhook.inputs.n',
      'invalid_expression 7:38 steps[0].transform.expr',
    ])
  })

  it('warns about likely mistakes that still make a valid flow', () => {
    const source = [
      'slug: x',
      'inputs: { repo: { type: string, required: true } }',
      'requires: { connections: [github] }',
      'triggers:',
      '  schedule: { cron: "0 7 * * *", inputs: { rpo: acme/api } }',
      'steps:',
      '  - id: a',
      '    name: "Deploy {{ inputs.repo }}"',
      '    http: { connection: gh, path: "/x/{{ inputs.rep }}", json: { a: "{{ input.repo }}" } }',
      '  - id: b',
      '    notify: { text: "{{ steps.a.body }}" }',
    ].join('\n')
    expect(warnings(source).map(summary)).toEqual([
      'missing_trigger_input 5:34 triggers.schedule.inputs',
      'unknown_input 5:44 triggers.schedule.inputs.rpo',
      'template_not_evaluated 8:11 steps[0].name',
      'unlisted_connection 9:25 steps[0].http.connection',
      'unknown_input 9:42 steps[0].http.path',
      'body_with_get 9:58 steps[0].http.json',
      'unknown_variable 9:73 steps[0].http.json.a',
      'unknown_property 11:25 steps[1].notify.text',
    ])
  })
})
