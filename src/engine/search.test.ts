import { describe, expect, it } from 'vitest'
import { AppError } from '../errors.ts'
import { SEARCH_DEFAULT_LIMIT, searchQueryOf } from './search.ts'

const codeOf = (request: Parameters<typeof searchQueryOf>[0]): string | undefined => {
  try {
    searchQueryOf(request)
    return undefined
  } catch (error) {
    return error instanceof AppError ? error.code : 'not_an_app_error'
  }
}

describe('search requests', () => {
  it('completes the defaults: every scope, no flow, limit 10', () => {
    expect(searchQueryOf({ query: 'deploy' })).toEqual({
      query: 'deploy',
      in: ['runs', 'resources', 'flows'],
      flow: null,
      limit: SEARCH_DEFAULT_LIMIT,
    })
  })

  it('reads in as a list or comma-separated text and limit as a number or digits', () => {
    expect(searchQueryOf({ query: 'x', in: 'runs, flows,runs', limit: '7' })).toMatchObject({
      in: ['runs', 'flows'],
      limit: 7,
    })
    expect(searchQueryOf({ query: 'x', in: ['resources'], flow: 'deploy', limit: 100 })).toMatchObject({
      in: ['resources'],
      flow: 'deploy',
      limit: 100,
    })
  })

  it('refuses an empty query, an unknown scope and a limit out of 1..100 as invalid_query', () => {
    for (const request of [
      { query: '' },
      { query: '   ' },
      { query: 42 },
      { query: 'x'.repeat(1001) },
      { query: 'x', in: 'everything' },
      { query: 'x', in: [] },
      { query: 'x', limit: 0 },
      { query: 'x', limit: 101 },
      { query: 'x', limit: '1.5' },
      { query: 'x', limit: -1 },
      { query: 'x', flow: '' },
    ])
      expect(codeOf(request), JSON.stringify(request)).toBe('invalid_query')
  })
})
