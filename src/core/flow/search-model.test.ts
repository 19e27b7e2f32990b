import { describe, expect, it } from 'vitest'
import { validateFlowSource } from './validate.ts'

const flow = (search: string) => `slug: finder
inputs: { q: { type: string, required: true } }
steps:
  - id: find
    search:
${search}`

describe('the search step model', () => {
  it('accepts a templated query and applies the default limit', () => {
    const result = validateFlowSource(flow(`      query: "{{ inputs.q }}"\n      in: [runs, flows]\n`))
    expect(result.ok ? result.warnings : result.problems).toEqual([])
    if (!result.ok) return
    expect(result.flow.steps[0]?.search).toEqual({ query: '{{ inputs.q }}', in: ['runs', 'flows'], limit: 10 })
  })

  it('refuses an unknown scope, a limit over 100 and an unknown key, each at its line', () => {
    const result = validateFlowSource(
      flow(`      query: deploy\n      in: [everything]\n      limit: 101\n      flwo: x\n`),
      'finder.yaml',
    )
    expect(result.ok).toBe(false)
    if (result.ok) return
    const at = Object.fromEntries(result.problems.map((p) => [p.path, p.line]))
    expect(at['steps[0].search.in[0]']).toBe(7)
    expect(at['steps[0].search.limit']).toBe(8)
    expect(result.problems.some((p) => p.path.startsWith('steps[0].search') && p.line === 9)).toBe(true)
  })

  it('refuses a query that reads a step the flow does not have', () => {
    const result = validateFlowSource(flow(`      query: "{{ steps.nope.output }}"\n`))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.problems.map((p) => p.path)).toContain('steps[0].search.query')
  })
})
