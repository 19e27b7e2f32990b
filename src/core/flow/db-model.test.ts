import { describe, expect, it } from 'vitest'
import { formatProblem, validateFlowSource } from './validate.ts'

const flow = (db: string) => `slug: lookup
requires: { connections: [crm] }
inputs: { email: { type: string, required: true } }
steps:
  - id: find
    db:
      connection: crm
${db}`

describe('the db step model', () => {
  it('accepts fixed sql with templated params, and applies the defaults', () => {
    const result = validateFlowSource(
      flow(`      sql: select id, name from customers where email = $1
      params: ["{{ inputs.email }}", 3, null, true]
`),
    )
    expect(result.ok ? result.warnings : result.problems).toEqual([])
    if (!result.ok) return
    expect(result.flow.steps[0]?.db).toEqual({
      connection: 'crm',
      sql: 'select id, name from customers where email = $1',
      params: ['{{ inputs.email }}', 3, null, true],
      read_only: false,
      as_resource: false,
    })
  })

  it('refuses a template inside sql, naming its line and column and the params fix', () => {
    const result = validateFlowSource(
      flow(`      sql: |
        select id from customers
        where email = '{{ inputs.email }}'
`),
      'lookup.yaml',
    )
    expect(result.ok).toBe(false)
    if (result.ok) return
    const problem = result.problems.find((p) => p.code === 'template_in_sql')
    expect(problem, JSON.stringify(result.problems)).toBeDefined()
    expect([problem?.line, problem?.column]).toEqual([10, 24])
    expect(problem?.path).toBe('steps[0].db.sql')
    expect(problem?.fix).toContain('params')
    expect(problem?.fix).toContain('$1')
    expect(formatProblem(problem as never)).toMatch(/^lookup\.yaml:10:24 /)
  })

  it('numbers the suggested placeholder after the params already given', () => {
    const result = validateFlowSource(
      flow(`      sql: "select 1 where a = $1 and b = {{ inputs.email }}"\n      params: [1]\n`),
    )
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.problems.map((p) => [p.code, p.column])).toEqual([['template_in_sql', 43]])
    expect(result.problems[0]?.fix).toContain('$2')
  })

  it('refuses a bad max_rows, an unknown key and a param that is a map', () => {
    const result = validateFlowSource(
      flow(`      sql: select 1
      max_rows: 0
      read_onyl: true
      params: [{ a: 1 }]
`),
    )
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.problems.map((p) => p.path).sort()).toEqual([
      'steps[0].db.max_rows',
      'steps[0].db.params[0]',
      'steps[0].db.read_onyl',
    ])
  })

  it('warns when the connection is not in requires', () => {
    const result = validateFlowSource(flow('      sql: select 1\n').replace('requires: { connections: [crm] }\n', ''))
    expect(result.ok && result.warnings.map((w) => w.code)).toEqual(['unlisted_connection'])
  })
})
