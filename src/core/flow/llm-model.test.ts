// The llm step's validation: prompt xor messages, a json_schema that compiles, the connection, located with fixes.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stepKind } from './model.ts'
import { type FlowProblem, formatProblem, validateFlowSource } from './validate.ts'

const flow = (...llm: string[]) =>
  [
    'slug: x',
    'requires: { connections: [openai] }',
    'steps:',
    '  - id: ask',
    '    llm:',
    ...llm.map((l) => `      ${l}`),
  ].join('\n')

const at = (p: FlowProblem) => `${p.code} ${p.line}:${p.column} ${p.path}`

function problems(source: string): string[] {
  const result = validateFlowSource(source, 'flow.yaml')
  if (result.ok) throw new Error(`expected problems, got none (warnings: ${result.warnings.map(formatProblem)})`)
  return result.problems.map(at)
}

function warnings(source: string): string[] {
  const result = validateFlowSource(source, 'flow.yaml')
  if (!result.ok) throw new Error(`expected a valid flow: ${result.problems.map(formatProblem).join('\n')}`)
  return result.warnings.map(at)
}

describe('the llm step', () => {
  it('accepts a prompt or messages, with system, temperature, max_tokens and json_schema', () => {
    expect(warnings(flow('connection: openai', 'model: gpt-4o-mini', 'prompt: "Hello"'))).toEqual([])
    const full = flow(
      'connection: openai',
      'model: "{{ run.flow }}-model"',
      'system: Be brief.',
      'messages: [{ role: user, content: "Hi {{ run.initiator }}" }, { role: assistant, content: "Hello" }]',
      'temperature: 0.2',
      'max_tokens: 100',
      'json_schema: { type: object, properties: { a: { type: string, description: "{{ not a template }}" } } }',
    )
    const result = validateFlowSource(full, 'flow.yaml')
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'))
    expect(result.warnings).toEqual([])
    const step = result.flow.steps[0]
    expect(step && stepKind(step)).toBe('llm')
    expect(step?.llm?.messages?.[1]).toEqual({ role: 'assistant', content: 'Hello' })
  })

  it('needs exactly one of prompt and messages, and says where', () => {
    expect(problems(flow('connection: openai', 'model: m'))).toEqual(['missing_key 5:5 steps[0].llm'])
    expect(
      problems(flow('connection: openai', 'model: m', 'prompt: a', 'messages: [{ role: user, content: b }]')),
    ).toEqual(['conflicting_keys 9:7 steps[0].llm.messages'])
    const result = validateFlowSource(flow('connection: openai', 'model: m'), 'flow.yaml')
    expect(result.ok ? '' : result.problems[0]?.fix).toMatch(/prompt: "…" or messages:/)
  })

  it('checks the fields: connection and model required, roles, temperature, max_tokens, unknown keys', () => {
    expect(problems(flow('prompt: a'))).toEqual([
      'missing_key 5:5 steps[0].llm.connection',
      'missing_key 5:5 steps[0].llm.model',
    ])
    expect(
      problems(
        flow(
          'connection: openai',
          'model: m',
          'messages: [{ role: tool, content: b }]',
          'temperature: 3',
          'max_tokens: 0',
          'top_p: 1',
        ),
      ),
    ).toEqual([
      'invalid_value 8:26 steps[0].llm.messages[0].role',
      'invalid_value 9:20 steps[0].llm.temperature',
      'invalid_value 10:19 steps[0].llm.max_tokens',
      'unknown_key 11:7 steps[0].llm.top_p',
    ])
  })

  it('needs json_schema to be a JSON Schema map, and warns when its root is not an object', () => {
    expect(problems(flow('connection: openai', 'model: m', 'prompt: a', 'json_schema: "{ type: object }"'))).toEqual([
      'invalid_type 9:20 steps[0].llm.json_schema',
    ])
    expect(problems(flow('connection: openai', 'model: m', 'prompt: a', 'json_schema: { type: 12 }'))).toEqual([
      'invalid_json_schema 9:7 steps[0].llm.json_schema',
    ])
    expect(warnings(flow('connection: openai', 'model: m', 'prompt: a', 'json_schema: { type: array }'))).toEqual([
      'json_schema_not_object 9:7 steps[0].llm.json_schema',
    ])
  })

  it('checks the templates of prompt and messages, and warns of a connection requires does not list', () => {
    expect(problems(flow('connection: openai', 'model: m', 'prompt: "{{ steps.nope.output }}"'))).toEqual([
      'unknown_step 8:19 steps[0].llm.prompt',
    ])
    const unlisted = flow('connection: other', 'model: m', 'prompt: a').replace('[openai]', '[]')
    expect(warnings(unlisted)).toEqual(['unlisted_connection 6:19 steps[0].llm.connection'])
  })

  it('validates the example flow', () => {
    const source = readFileSync(join(import.meta.dirname, '../../../examples/flows/llm-summary.yaml'), 'utf8')
    const result = validateFlowSource(source, 'llm-summary.yaml')
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'))
    expect(result.flow.steps.map(stepKind)).toEqual(['http', 'llm', 'approval', 'http', 'notify'])
  })
})
