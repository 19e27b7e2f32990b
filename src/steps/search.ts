// search: full-text search over what Greenlight stores, through the same query path as the CLI and the API.
import type { SearchIndex } from '../engine/search.ts'
import { createSearch } from '../engine/search.ts'
import type { StepRunner } from '../engine/step-runner.ts'
import { AppError, TerminalError } from '../errors.ts'

export interface SearchRunnerDeps {
  /** The store's full-text index (wired in main.ts). */
  search: SearchIndex
}

export function createSearchRunner(deps: SearchRunnerDeps): StepRunner {
  const { search } = createSearch(deps.search)
  return {
    kind: 'search',
    billable: true,
    async run(ctx) {
      const c = ctx.config as { query?: unknown; in?: unknown; flow?: unknown; limit?: unknown }
      try {
        const output = await search({ query: c.query, in: c.in, flow: c.flow, limit: c.limit })
        return { type: 'done', output }
      } catch (error) {
        // A bad query stays bad on a retry: fail the step at once, routed by on_error.
        if (error instanceof AppError && error.code === 'invalid_query')
          throw new TerminalError(error.code, error.message, { hint: error.hint, details: error.details, cause: error })
        throw error
      }
    },
  }
}
