import { describe, expect, it } from 'vitest'
import { TerminalError } from '../../errors.ts'
import {
  compileExpression,
  compileTemplate,
  compileTransform,
  compileValue,
  ExpressionError,
  findTemplates,
  interpolate,
} from './expressions.ts'

const scope = {
  inputs: { repo: 'acme/api', issue: 42, list: [{ name: 'a' }, { name: 'b' }], flag: false },
  steps: { review: { output: { decision: 'approved', votes: [{ user: 'U1' }] } } },
  run: { id: 'run_1', flow: 'agent_fix', version: 3 },
  callbacks: { agent_done: { url: 'https://gl.example/callbacks/tok' } },
}

function syntaxError(source: string): ExpressionError {
  try {
    compileTemplate(source)
  } catch (error) {
    if (error instanceof ExpressionError) return error
    throw error
  }
  throw new Error(`expected ${JSON.stringify(source)} to fail`)
}

describe('findTemplates', () => {
  it('finds each template with its offsets', () => {
    const spans = findTemplates('a {{ x }} b {{y}}')
    expect(spans).toEqual([
      { start: 2, end: 9, expression: ' x ', expressionStart: 4, closed: true },
      { start: 12, end: 17, expression: 'y', expressionStart: 14, closed: true },
    ])
  })

  it('does not end a template inside an object constructor or a string literal', () => {
    expect(findTemplates('{{ {"a": {"b": 1}} }}')).toHaveLength(1)
    expect(findTemplates('{{ {"a": {"b": 1}} }}')[0]?.end).toBe(21)
    expect(findTemplates('{{ "}}" & \'}}\' }} tail')[0]?.expression).toBe(' "}}" & \'}}\' ')
  })

  it('marks an unclosed template', () => {
    expect(findTemplates('x {{ inputs.repo')).toEqual([
      { start: 2, end: 16, expression: ' inputs.repo', expressionStart: 4, closed: false },
    ])
  })

  it('returns nothing for plain text', () => {
    expect(findTemplates('no templates { here } }}')).toEqual([])
  })
})

describe('compileTemplate', () => {
  it('keeps the type of a value that is exactly one template', async () => {
    expect(await compileTemplate('{{ inputs.issue }}').evaluate(scope)).toBe(42)
    expect(await compileTemplate('{{ inputs.flag }}').evaluate(scope)).toBe(false)
    expect(await compileTemplate('{{ steps.review.output.votes }}').evaluate(scope)).toEqual([{ user: 'U1' }])
    // Block scalars end in a newline; surrounding whitespace does not turn the value into text.
    expect(await compileTemplate('  {{ inputs.issue }}\n').evaluate(scope)).toBe(42)
    expect(compileTemplate('{{ inputs.issue }}').mode).toBe('typed')
  })

  it('interpolates into text otherwise', async () => {
    const template = compileTemplate('Patch for {{ inputs.repo }}#{{ inputs.issue }} ({{ run.version }})')
    expect(template.mode).toBe('text')
    expect(await template.evaluate(scope)).toBe('Patch for acme/api#42 (3)')
  })

  it('interpolates objects and arrays as JSON and null/undefined as nothing', async () => {
    expect(await compileTemplate('v={{ steps.review.output.votes[0] }}').evaluate(scope)).toBe('v={"user":"U1"}')
    expect(await compileTemplate('[{{ inputs.list.name }}]').evaluate(scope)).toBe('[["a","b"]]')
    expect(await compileTemplate('<{{ inputs.missing }}>').evaluate(scope)).toBe('<>')
    expect(await compileTemplate('<{{ null }}>').evaluate(scope)).toBe('<>')
    expect(interpolate(1.5)).toBe('1.5')
  })

  it('returns plain arrays, not JSONata sequences', async () => {
    const names = await compileTemplate('{{ inputs.list.name }}').evaluate(scope)
    expect(names).toEqual(['a', 'b'])
    expect(Object.keys(names as object)).toEqual(['0', '1'])
  })

  it('treats strings without {{ as constants', async () => {
    const template = compileTemplate('just text }}')
    expect(template.mode).toBe('constant')
    expect(await template.evaluate({})).toBe('just text }}')
  })

  it('reports syntax errors with the JSONata message and the offset in the string', () => {
    const error = syntaxError('hi {{ a b }}')
    expect(error.code).toBe('invalid_expression')
    expect(error.offset).toBe(8) // the `b`
    expect(error.message).toContain('Syntax error')
    expect(syntaxError('x {{ inputs.x + }}').offset).toBe(16) // end of the expression
    expect(syntaxError('x {{ inputs.repo').offset).toBe(2)
    expect(syntaxError('x {{ inputs.repo').message).toContain('unterminated')
    expect(syntaxError('{{   }}').message).toContain('empty')
  })

  it('lists the top-level names each template reads, with offsets in the string', () => {
    const source = 'x {{ steps.review.output.votes[decision = "no"].user & env.TOKEN & $$.run.id }}'
    const refs = compileTemplate(source).references
    expect(refs.map((ref) => [ref.root, ref.path])).toEqual([
      ['steps', ['review', 'output', 'votes']],
      ['env', ['TOKEN']],
      ['run', ['id']],
    ])
    expect(refs[0]?.offset).toBe(source.indexOf('steps'))
    expect(refs[1]?.offset).toBe(source.indexOf('env'))
  })

  it('does not mistake fields inside filters or later path steps for scope names', () => {
    const refs = compileTemplate('{{ inputs.items[env = 1].callbacks }}').references
    expect(refs.map((ref) => ref.root)).toEqual(['inputs'])
  })

  it('wraps evaluation failures in a terminal error with a stable code', async () => {
    const failing = compileTemplate('{{ $notAFunction() }}')
    await expect(failing.evaluate(scope)).rejects.toBeInstanceOf(TerminalError)
    await expect(failing.evaluate(scope)).rejects.toMatchObject({ code: 'expression_failed' })
  })
})

describe('compileExpression and compileTransform', () => {
  it('evaluates bare JSONata, and templates when the source holds {{', async () => {
    expect(await compileExpression('inputs.issue + 1').evaluate(scope)).toBe(43)
    expect(await compileTransform('$count(inputs.list)').evaluate(scope)).toBe(2)
    expect(await compileTransform('{{ inputs.repo }}').evaluate(scope)).toBe('acme/api')
    expect(await compileTransform('n={{ inputs.issue }}').evaluate(scope)).toBe('n=42')
  })
})

describe('compileValue', () => {
  it('compiles every string inside nested maps and lists, keeping constants and non-strings', async () => {
    const value = compileValue({
      title: 'Fix #{{ inputs.issue }}',
      issue: '{{ inputs.issue }}',
      labels: ['bot', '{{ run.flow }}'],
      nested: { url: '{{ callbacks.agent_done.url }}', count: 3, on: true, none: null },
    })
    expect(value.templates.map((t) => t.path)).toEqual([['title'], ['issue'], ['labels', 1], ['nested', 'url']])
    expect(await value.evaluate(scope)).toEqual({
      title: 'Fix #42',
      issue: 42,
      labels: ['bot', 'agent_fix'],
      nested: { url: 'https://gl.example/callbacks/tok', count: 3, on: true, none: null },
    })
  })

  it('throws the first syntax error', () => {
    expect(() => compileValue({ a: ['ok', '{{ ( }}'] })).toThrow(ExpressionError)
  })
})
