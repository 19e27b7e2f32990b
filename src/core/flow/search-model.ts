// The search step's schema: full-text search over Greenlight's own runs, events, resources and flow sources.
import { z } from 'zod'

/** What a search step may look in; mirrors engine/search.ts SEARCH_SCOPES. */
export const SEARCH_STEP_SCOPES = ['runs', 'resources', 'flows'] as const

export const searchStep = z
  .object({
    query: z.string().min(1, 'the query is empty').meta({
      description:
        'FTS5 query (template allowed): words, "quoted phrases", AND/OR/NOT, prefix*. A syntax error fails the step with invalid_query.',
    }),
    in: z.array(z.enum(SEARCH_STEP_SCOPES)).min(1).optional().meta({
      description:
        'Where to look: runs (inputs, outputs, events, vote comments), resources (text ones), flows (sources). Default: all.',
    }),
    flow: z.string().min(1).optional().meta({ description: 'Only hits of this flow slug (template allowed).' }),
    limit: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .meta({ description: 'Most hits returned, best first (1-100).' }),
  })
  .strict()

export type SearchStep = z.infer<typeof searchStep>
