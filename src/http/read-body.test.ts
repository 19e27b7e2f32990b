// parseBoundedJson: JSON past the depth limit is refused before the parser runs, with a code and the limit named.
import { describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH } from '../core/json-depth.ts'
import { AppError } from '../errors.ts'
import { parseBoundedJson } from './read-body.ts'

describe('parseBoundedJson', () => {
  it('refuses past the limit before parsing, with the limit named', () => {
    const at = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`
    const notJson = () => new AppError('invalid_json', 'not JSON', { status: 400 })
    expect(parseBoundedJson(at, notJson)).toBeInstanceOf(Array)
    // Unbalanced on purpose: the scan stops at the first level over, before the parser would see the syntax error.
    const over = '['.repeat(MAX_JSON_DEPTH + 1)
    expect(() => parseBoundedJson(over, notJson)).toThrow(
      expect.objectContaining({ code: 'json_too_deep', status: 400, details: { max_depth: MAX_JSON_DEPTH } }),
    )
    expect(() => parseBoundedJson('{"a": [1,', notJson)).toThrow(expect.objectContaining({ code: 'invalid_json' }))
  })
})
