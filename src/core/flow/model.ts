// The flow file model (SPEC §2) as zod schemas, the single source of the TypeScript types and the JSON Schema.
import { z } from 'zod'
import { type FlowStep, flowStep } from './child-flow-model.ts'
import { type DbStep, dbStep } from './db-model.ts'
import { parseDuration } from './duration.ts'
import type { ApprovalStep, InputStep } from './human-steps-model.ts'
import { approvalStep, inputStep } from './human-steps-model.ts'
import { type LlmStep, llmStep } from './llm-model.ts'
import {
  duration,
  help,
  INPUT_NAME_PATTERN,
  PATTERN_HELP,
  route,
  SLUG_PATTERN,
  stepId,
  stringList,
  template,
} from './model-common.ts'
import { type SearchStep, searchStep } from './search-model.ts'
import type {
  HttpStep,
  JobStep,
  KvStep,
  NotifyStep,
  SleepStep,
  SshStep,
  TransformStep,
  WaitStep,
} from './steps-model.ts'
import { httpStep, jobStep, kvStep, notifyStep, sleepStep, sshStep, transformStep, waitStep } from './steps-model.ts'
import { triggers } from './triggers-model.ts'

/** Every step kind; a step holds exactly one of these keys. */
export const STEP_KINDS = [
  'http',
  'ssh',
  'wait',
  'approval',
  'input',
  'notify',
  'sleep',
  'kv',
  'db',
  'transform',
  'job',
  'llm',
  'search',
  'flow',
] as const
export type StepKind = (typeof STEP_KINDS)[number]

const stepKindSchemas = {
  http: httpStep,
  ssh: sshStep,
  wait: waitStep,
  approval: approvalStep,
  input: inputStep,
  notify: notifyStep,
  sleep: sleepStep,
  kv: kvStep,
  db: dbStep,
  transform: transformStep,
  job: jobStep,
  llm: llmStep,
  search: searchStep,
  flow: flowStep,
} as const

/** Editor help for each kind key, including the output shape later steps read as steps.<id>.output. */
const KIND_HELP: Record<StepKind, string> = {
  http: 'Call an HTTP API. Output: { status, headers, body }.',
  ssh: 'Run a command over SSH. Output: { exit_code, stdout, stderr, duration_ms }.',
  wait: 'Park the run until a remote agent POSTs to callbacks.<id>.url. Output: the callback payload.',
  approval: 'Ask people in Slack to approve. Output: { decision, votes, comment, digest }.',
  input: 'Ask people for values in a Slack form. Output: { values, user, at }.',
  notify: 'Post a Slack message in the run thread, a channel or DMs. Output: { channel, ts }.',
  sleep: 'Pause the run durably. Output: { until }.',
  kv: 'Durable key-value store. Output: { key, value, existed }.',
  db: 'Run one SQL statement on a database connection. Output: { rows, row_count, columns }.',
  transform: 'Compute a value with JSONata (pure). Output: the value.',
  job: 'Hand work to a pull-based worker and park until it reports. Output: the job result.',
  llm: 'Ask an OpenAI-compatible chat API for a completion. Output: { text, json, model, finish_reason, usage }.',
  search:
    'Full-text search over runs, events, resources and flow sources. Output: { hits: [{ kind, id, run, flow, step, snippet, score }] }.',
  flow: 'Run another flow as a child and wait for it. Output: { run, status, output, error }.',
}

const retry = z
  .object({
    attempts: z.number().int().min(1).max(20).meta({ description: 'Total tries, the first one included.' }),
    backoff: duration.default('1s').meta({ description: 'Delay before the second try; doubles on each further try.' }),
    max_backoff: duration.optional().meta({ description: 'Upper bound of the doubling delay.' }),
  })
  .strict()
  .refine(
    (r) => r.max_backoff === undefined || (parseDuration(r.max_backoff) ?? 0) >= (parseDuration(r.backoff) ?? 0),
    {
      path: ['max_backoff'],
      message: 'max_backoff is shorter than backoff',
      ...help('invalid_value', 'make max_backoff at least as long as backoff'),
    },
  )

/**
 * One step. The kind keys are optional siblings of the common fields (rather than a zod union) so that a typo gets a
 * precise "unknown key, did you mean" error and editors complete every key; the refinement enforces exactly one kind.
 */
export const stepSchema = z
  .object({
    id: stepId.meta({ description: 'Unique step id; names the step in expressions (steps.<id>.output) and goto.' }),
    name: z.string().min(1).optional().meta({ description: 'Label shown in Slack; default: the id.' }),
    if: template('Condition "{{ … }}"; the step is skipped (output null) when it is falsy.').optional(),
    timeout: duration.optional().meta({ description: 'Limit for one attempt of the step.' }),
    retry: retry.optional().meta({ description: 'Retry failed attempts with exponential backoff.' }),
    on_error: route.default('fail').meta({ description: 'After the last failed attempt: fail | continue | { goto }.' }),
    max_visits: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(10)
      .meta({ description: 'How many times goto loops may enter this step before the run fails.' }),
    ...Object.fromEntries(
      STEP_KINDS.map((kind) => [kind, stepKindSchemas[kind].optional().meta({ description: KIND_HELP[kind] })]),
    ),
  } as StepShape) // Object.fromEntries loses the key names; StepShape restores them for the inferred types.
  .strict()
  .superRefine((step, ctx) => {
    const kinds = STEP_KINDS.filter((kind) => step[kind] !== undefined)
    if (kinds.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `a step needs exactly one kind: ${STEP_KINDS.join(', ')}`,
        ...help('missing_step_kind', 'add one kind key, e.g. http: { url: … } or notify: { text: … }'),
      })
    }
    for (const extra of kinds.slice(1)) {
      ctx.addIssue({
        code: 'custom',
        path: [extra],
        message: `a step has one kind, this one has ${kinds.join(' and ')}`,
        ...help('multiple_step_kinds', `move ${extra} into a step of its own`),
      })
    }
  })
  .meta({ id: 'step', description: 'A step: id, optional common fields, and exactly one kind key.' })

type StepShape = {
  id: typeof stepId
  name: z.ZodOptional<z.ZodString>
  if: z.ZodOptional<z.ZodString>
  timeout: z.ZodOptional<typeof duration>
  retry: z.ZodOptional<typeof retry>
  on_error: z.ZodDefault<typeof route>
  max_visits: z.ZodDefault<z.ZodNumber>
} & { [K in StepKind]: z.ZodOptional<(typeof stepKindSchemas)[K]> }

export const INPUT_TYPES = ['string', 'integer', 'number', 'boolean', 'object', 'array'] as const
export type InputType = (typeof INPUT_TYPES)[number]

/** Whether a YAML value fits a declared input type (used for defaults, enums and by the engine for run inputs). */
export function matchesInputType(value: unknown, type: InputType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'integer':
      return Number.isSafeInteger(value)
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'boolean':
      return typeof value === 'boolean'
    case 'array':
      return Array.isArray(value)
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value)
  }
}

const inputDefinition = z
  .object({
    type: z.enum(INPUT_TYPES).default('string'),
    required: z.boolean().default(false).meta({ description: 'Missing required inputs open a Slack modal.' }),
    description: z.string().optional(),
    default: z.unknown().optional(),
    enum: z
      .array(z.union([z.string(), z.number(), z.boolean()]))
      .min(1)
      .optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.default !== undefined && !matchesInputType(input.default, input.type)) {
      ctx.addIssue({
        code: 'custom',
        path: ['default'],
        message: `default does not match type ${input.type}`,
        ...help('invalid_value', `give a default of type ${input.type}, or change type`),
      })
    }
    input.enum?.forEach((value, index) => {
      if (!matchesInputType(value, input.type)) {
        ctx.addIssue({
          code: 'custom',
          path: ['enum', index],
          message: `enum value ${JSON.stringify(value)} does not match type ${input.type}`,
          ...help('invalid_value', `list values of type ${input.type}`),
        })
      }
    })
    if (input.default !== undefined && input.enum !== undefined && !input.enum.some((v) => v === input.default)) {
      ctx.addIssue({
        code: 'custom',
        path: ['default'],
        message: 'default is not one of the enum values',
        ...help('invalid_value', `use one of: ${input.enum.map((v) => JSON.stringify(v)).join(', ')}`),
      })
    }
  })

/** People a permission admits: listed users, members of listed user groups, or whoever types in a listed channel. */
const permissionRule = z
  .object({ users: stringList.optional(), usergroups: stringList.optional(), channels: stringList.optional() })
  .strict()

export const flowSchema = z
  .object({
    slug: z
      .string()
      .regex(SLUG_PATTERN, PATTERN_HELP.get(String(SLUG_PATTERN))?.message)
      .meta({ description: 'Stable identity of the flow (^[a-z][a-z0-9_-]{0,62}$); /gl run <slug>.' }),
    name: z.string().min(1).optional().meta({ description: 'Human title; default: the slug.' }),
    description: z.string().optional().meta({ description: 'Markdown shown in Slack and the CLI.' }),
    slack: z
      .object({ channel: z.string().min(1).meta({ description: 'Channel name (#eng-bots) or id (C…).' }) })
      .strict()
      .optional()
      .meta({ description: 'Where runs not started from Slack post their thread.' }),
    inputs: z
      .record(
        z.string().regex(INPUT_NAME_PATTERN, PATTERN_HELP.get(String(INPUT_NAME_PATTERN))?.message),
        inputDefinition,
      )
      .optional()
      .meta({ description: 'Run inputs by name (inputs.<name> in expressions).' }),
    concurrency: z
      .object({
        key: template(
          'Template over inputs/run; runs with the same key share the limit. Default: the flow.',
        ).optional(),
        limit: z.number().int().min(1).max(1000).default(1),
        on_conflict: z
          .enum(['queue', 'skip', 'cancel_running'])
          .default('queue')
          .meta({ description: 'When the limit is reached: wait, do not start, or cancel the running run.' }),
      })
      .strict()
      .optional()
      .meta({ description: 'How many runs may be active at once (per key).' }),
    requires: z
      .object({ connections: stringList.default([]).meta({ description: 'Connection names the steps use.' }) })
      .strict()
      .optional()
      .meta({ description: 'Checked before release and before a run starts.' }),
    permissions: z
      .object({
        run: permissionRule
          .optional()
          .meta({ description: 'Who may start the flow (Slack, and tokens created --as a user); default: anyone.' }),
        cancel: permissionRule.optional().meta({
          description: "Who may cancel its runs besides the run's initiator and the admins; default: nobody else.",
        }),
      })
      .strict()
      .optional()
      .meta({ description: 'Who may do what with this flow.' }),
    triggers: triggers.optional().meta({ description: 'How runs start; absent means manual only.' }),
    steps: z.array(stepSchema).min(1, 'a flow needs at least one step').meta({ description: 'Run in order.' }),
  })
  .strict()

type StepCommon = Omit<z.infer<typeof stepSchema>, StepKind>
interface StepKindDefinitions {
  http: HttpStep
  ssh: SshStep
  wait: WaitStep
  approval: ApprovalStep
  input: InputStep
  notify: NotifyStep
  sleep: SleepStep
  kv: KvStep
  db: DbStep
  transform: TransformStep
  job: JobStep
  llm: LlmStep
  search: SearchStep
  flow: FlowStep
}

/** A validated step: the common fields plus exactly one kind key; `step.http !== undefined` narrows to an http step. */
export type StepDefinition = {
  [K in StepKind]: StepCommon & { [P in K]: StepKindDefinitions[P] } & { [P in Exclude<StepKind, K>]?: undefined }
}[StepKind]

/** A validated flow with defaults applied. */
export type FlowDefinition = Omit<z.infer<typeof flowSchema>, 'steps'> & { steps: StepDefinition[] }
export type FlowInputDefinition = z.infer<typeof inputDefinition>
export type RetryPolicy = z.infer<typeof retry>

/** The kind of a validated step. */
export function stepKind(step: StepDefinition): StepKind {
  return STEP_KINDS.find((kind) => step[kind] !== undefined) as StepKind
}
