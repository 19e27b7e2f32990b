// Building blocks shared by the flow and step schemas: ids, durations, routes, people lists and their error help.
import { z } from 'zod'
import { DURATION_PATTERN, parseDuration } from './duration.ts'

/** What a problem should say when a value fails one of the patterns below; the issue mapper looks it up by pattern. */
export interface PatternHelp {
  code: string
  message: string
  fix: string
}

export const SLUG_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/
export const STEP_ID_PATTERN = /^[a-z][a-z0-9_]{0,62}$/
/** Input names become JSONata paths (`inputs.repo`) and slash-command keys (`repo=…`), so no dashes or dots. */
export const INPUT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const DURATION_REGEX = new RegExp(DURATION_PATTERN)

export const PATTERN_HELP: ReadonlyMap<string, PatternHelp> = new Map([
  [
    String(SLUG_PATTERN),
    {
      code: 'invalid_slug',
      message: 'slug must start with a lowercase letter and use only a-z, 0-9, _ and - (at most 63 characters)',
      fix: 'use a slug such as agent_fix',
    },
  ],
  [
    String(STEP_ID_PATTERN),
    {
      code: 'invalid_id',
      message: 'ids must start with a lowercase letter and use only a-z, 0-9 and _ (at most 63 characters)',
      fix: 'rename it, e.g. start_agent',
    },
  ],
  [
    String(INPUT_NAME_PATTERN),
    {
      code: 'invalid_name',
      message: 'input names must start with a letter or _ and use only letters, digits and _',
      fix: 'rename it, e.g. issue_number',
    },
  ],
  [
    String(DURATION_REGEX),
    {
      code: 'invalid_duration',
      message: 'not a duration',
      fix: 'write a number and a unit (ms, s, m, h, d), largest unit first: 500ms, 30s, 5m, 2h, 1d, 1h30m',
    },
  ],
])

/** Extra data a refinement attaches to its issue so the validator reports a stable code and a fix. */
export function help(code: string, fix: string): { params: { code: string; fix: string } } {
  return { params: { code, fix } }
}

export const stepId = z.string().regex(STEP_ID_PATTERN, PATTERN_HELP.get(String(STEP_ID_PATTERN))?.message)

/** A literal duration string; durations are never templated because timers are planned when the step starts. */
export const duration = z
  .string()
  .regex(DURATION_REGEX, { error: 'not a duration', abort: true })
  .refine((text) => (parseDuration(text) ?? 0) > 0, {
    message: 'duration must be greater than zero, at most 366d, with each unit once and the largest first',
    ...help('invalid_duration', 'write e.g. 30s, 5m, 2h, 1d or 1h30m'),
  })
  .meta({
    id: 'duration',
    description: 'Duration: a number and a unit (ms, s, m, h, d), largest first, e.g. 500ms, 30s, 1h30m.',
  })

/** A string that may hold `{{ }}` templates (JSONata); the validator compiles it. */
export const template = (description?: string) => (description ? z.string().meta({ description }) : z.string())

/** Where a run goes after a step outcome: stop as failed, carry on with the next step, or jump to a step. */
export const route = z
  .union([z.enum(['fail', 'continue']), z.object({ goto: stepId }).strict()], {
    error: 'expected fail, continue or { goto: <step id> }',
  })
  .meta({ id: 'route', description: 'fail | continue | { goto: <step id> }' })

const nonEmptyString = z.string().min(1, 'must not be empty')
export const stringList = z.array(nonEmptyString)

/** Scalars an environment variable, header or query parameter may hold; numbers and booleans are sent as text. */
export const scalarMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
  error: 'expected a map of names to strings, numbers or booleans',
})

/** Slack people: user ids (U…) and user-group ids (S…). */
export const people = z
  .object({
    users: stringList.optional().meta({ description: 'Slack user ids (U…)' }),
    usergroups: stringList.optional().meta({ description: 'Slack user-group ids (S…)' }),
  })
  .strict()

export type Route = z.infer<typeof route>
export type People = z.infer<typeof people>
