// Full-text search over what Greenlight stores (runs, events, resources, flow sources): the port the store implements
// (SQLite FTS5) and the one query path the `search` step, the CLI and the API share.
import { AppError } from '../errors.ts'

export const SEARCH_SCOPES = ['runs', 'resources', 'flows'] as const
export type SearchScope = (typeof SEARCH_SCOPES)[number]
export type SearchHitKind = 'run' | 'event' | 'resource' | 'flow'

export const SEARCH_DEFAULT_LIMIT = 10
export const SEARCH_MAX_LIMIT = 100
/** Longest query text accepted; FTS5 queries beyond it are refused rather than parsed. */
export const SEARCH_MAX_QUERY = 1000

/** `runs` covers a run's inputs and output, its steps' outputs and its events (vote comments included). */
export const KINDS_OF_SCOPE: Record<SearchScope, readonly SearchHitKind[]> = {
  runs: ['run', 'event'],
  resources: ['resource'],
  flows: ['flow'],
}

export interface SearchQuery {
  query: string
  in: readonly SearchScope[]
  flow: string | null
  limit: number
}

export interface SearchHit {
  kind: SearchHitKind
  /** run: the run id, or `<run>:<step>:<visit>` for a step's output; event: `<run>:<seq>`; resource: its sha256;
   *  flow: `<slug>#<revision>`. */
  id: string
  run: string | null
  flow: string | null
  step: string | null
  snippet: string
  /** bm25 relevance, higher is better. */
  score: number
}

export interface SearchResult {
  hits: SearchHit[]
}

/** The store's side: runs a validated query; an FTS5 syntax error is thrown as `invalid_query`. */
export interface SearchIndex {
  search(query: SearchQuery): Promise<SearchResult>
}

export const invalidQuery = (message: string, details: Record<string, unknown> = {}): AppError =>
  new AppError('invalid_query', message, {
    hint: 'Quote words with special characters, e.g. "deploy-prod"; operators are AND, OR, NOT and NEAR().',
    details,
  })

export interface SearchRequest {
  query: unknown
  in?: unknown
  flow?: unknown
  limit?: unknown
}

/** Checks and completes a request from any transport; throws `invalid_query` naming what is wrong. */
export function searchQueryOf(request: SearchRequest): SearchQuery {
  const { query } = request
  if (typeof query !== 'string' || query.trim() === '') throw invalidQuery('The search query is empty.')
  if (query.length > SEARCH_MAX_QUERY)
    throw invalidQuery(`The search query is longer than ${SEARCH_MAX_QUERY} characters.`)
  const scopes = scopesOf(request.in)
  const flow = request.flow
  if (flow !== undefined && flow !== null && (typeof flow !== 'string' || flow === ''))
    throw invalidQuery('`flow` must be a flow slug.')
  return { query, in: scopes, flow: typeof flow === 'string' ? flow : null, limit: limitOf(request.limit) }
}

function scopesOf(value: unknown): SearchScope[] {
  if (value === undefined || value === null || value === '') return [...SEARCH_SCOPES]
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value
  if (!Array.isArray(list) || list.length === 0) throw invalidQuery('`in` must list runs, resources or flows.')
  const scopes: SearchScope[] = []
  for (const item of list) {
    if (!SEARCH_SCOPES.includes(item as SearchScope))
      throw invalidQuery(`\`in\` has '${String(item)}'; expected any of ${SEARCH_SCOPES.join(', ')}.`, {
        in: item,
      })
    if (!scopes.includes(item as SearchScope)) scopes.push(item as SearchScope)
  }
  return scopes
}

function limitOf(value: unknown): number {
  if (value === undefined || value === null || value === '') return SEARCH_DEFAULT_LIMIT
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > SEARCH_MAX_LIMIT)
    throw invalidQuery(`\`limit\` must be a whole number from 1 to ${SEARCH_MAX_LIMIT}.`, { limit: value })
  return n
}

/** The shared query path: validate, then ask the index. */
export function createSearch(index: SearchIndex) {
  return {
    search: (request: SearchRequest): Promise<SearchResult> => index.search(searchQueryOf(request)),
  }
}

export type Search = ReturnType<typeof createSearch>
