// Schema of the flow step (SPEC §10): a child flow, an ordinary run of another flow that the parent waits on.
import { z } from 'zod'
import { PATTERN_HELP, SLUG_PATTERN } from './model-common.ts'

/** How deep child flows nest: a run five levels below a run nobody's step started is the deepest. */
export const MAX_FLOW_DEPTH = 5

export const flowStep = z
  .object({
    slug: z
      .string()
      .regex(SLUG_PATTERN, PATTERN_HELP.get(String(SLUG_PATTERN))?.message)
      .meta({ description: 'The child flow (written as is, never a template, so a cycle is visible at release).' }),
    inputs: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "The child's inputs; values may hold {{ }}." }),
    version: z
      .union([z.enum(['live', 'draft']), z.number().int().min(1)], {
        error: 'expected live, draft or a released version number',
      })
      .default('live')
      .meta({ description: 'Which revision of the child flow: its live version, its draft, or version N.' }),
    wait: z
      .boolean()
      .default(true)
      .meta({ description: 'Park until the child ends (output its result); false: go on once it is started.' }),
  })
  .strict()

export type FlowStep = z.infer<typeof flowStep>
