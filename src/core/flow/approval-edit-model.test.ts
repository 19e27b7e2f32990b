// An approval's edit fields in a flow file: what is accepted, and each mistake reported at its line and column.
import { describe, expect, it } from 'vitest'
import { editFieldProblems } from '../approvals/edits.ts'
import { formatProblem, validateFlowSource } from './validate.ts'

const flow = (edit: string) => `slug: edits
steps:
  - id: draft
    transform: "{{ 'hello' }}"
  - id: review
    approval:
      message: "Send it?"
${edit}
`

function problems(source: string): string[] {
  const result = validateFlowSource(source, 'flow.yaml')
  return result.ok ? [] : result.problems.map(formatProblem)
}

describe('approval edit fields', () => {
  it('accepts text and textarea fields whose values are templates', () => {
    const source = flow(`      edit:
        fields:
          reply: { type: textarea, label: Reply, value: "{{ steps.draft.output }}" }
          subject: { value: "Re: hi" }`)
    expect(problems(source)).toEqual([])
  })

  it('reports a bad name, type, template and unknown key where they are written', () => {
    const source = flow(`      edit:
        fields:
          Reply: { value: "x" }
          body: { type: html, value: "{{ steps.nope.output }}" }
          cmd: { value: "{{ 1 + }}", prefill: true }`)
    const found = problems(source)
    expect(found.find((p) => p.includes('edit.fields.Reply'))).toMatch(/^flow\.yaml:10:11 .*ids must start/)
    expect(found.find((p) => p.includes('edit.fields.body.type'))).toMatch(/^flow\.yaml:11:25 .*'html' is not one of/)
    expect(found.find((p) => p.includes('edit.fields.body.value'))).toMatch(/^flow\.yaml:11:42 .*names no step/)
    expect(found.find((p) => p.includes('edit.fields.cmd.prefill'))).toMatch(/^flow\.yaml:12:38 .*unknown key/)
  })

  it('needs 1 to 10 fields and values of at most 20,000 characters', () => {
    expect(problems(flow('      edit: { fields: {} }'))[0]).toMatch(/^flow\.yaml:8:\d+ .*at least one field/)
    const many = Array.from({ length: 11 }, (_, i) => `f${i}: { value: x }`).join(', ')
    expect(problems(flow(`      edit: { fields: { ${many} } }`))[0]).toMatch(/11 fields; at most 10/)
    const long = problems(flow(`      edit: { fields: { reply: { value: "${'x'.repeat(20_001)}" } } }`))
    expect(long[0]).toMatch(/edit\.fields\.reply\.value: must be at most 20000 characters/)
    const big = ['a', 'b', 'c', 'd'].map((n) => `${n}: { value: "${'x'.repeat(15_001)}" }`).join(', ')
    expect(problems(flow(`      edit: { fields: { ${big} } }`))[0]).toMatch(/60004 characters together; at most 60000/)
  })

  it('checks fields given at run time the same way', () => {
    expect(editFieldProblems({ reply: { type: 'textarea', value: 'x' } })).toEqual([])
    expect(editFieldProblems({ 'Bad-Name': { type: 'html', value: 'x'.repeat(20_001) } })).toEqual([
      "'Bad-Name' is not a field name (a-z, 0-9, _)",
      "'Bad-Name': type must be text or textarea",
      "'Bad-Name': value is over 20000 characters",
    ])
    expect(editFieldProblems([])).toHaveLength(1)
    expect(editFieldProblems({})).toEqual(['there must be 1 to 10 edit fields, not 0'])
  })
})
