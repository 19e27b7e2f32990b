// Schemas of how runs start besides a person: manual switch, cron schedules and signed webhooks.
import { CronPattern } from 'croner'
import { z } from 'zod'
import { help, template } from './model-common.ts'

function cronProblem(pattern: string): string | undefined {
  try {
    new CronPattern(pattern) // parses only; no timer is started
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message.replace(/^CronPattern: /, '') : 'invalid cron expression'
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name })
    return true
  } catch {
    return false
  }
}

const triggerInputs = z
  .record(z.string(), z.unknown())
  .optional()
  .meta({ description: 'Values for the flow inputs of runs this trigger starts.' })

export const scheduleTrigger = z
  .object({
    cron: z
      .string()
      .min(1)
      .meta({ description: 'Cron expression (5 fields, or 6 with seconds first), or @daily etc.' }),
    timezone: z.string().default('UTC').meta({ description: 'IANA time zone, e.g. Europe/Oslo.' }),
    inputs: triggerInputs,
    catch_up: z
      .enum(['none', 'latest'])
      .default('none')
      .meta({ description: 'After downtime: skip missed ticks (none) or run the latest missed one once (latest).' }),
  })
  .strict()
  .superRefine((schedule, ctx) => {
    const problem = cronProblem(schedule.cron)
    if (problem !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cron'],
        message: `invalid cron expression: ${problem}`,
        ...help('invalid_cron', 'write five fields: minute hour day-of-month month day-of-week, e.g. "0 7 * * 1-5"'),
      })
    }
    if (!isTimeZone(schedule.timezone)) {
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: `unknown time zone '${schedule.timezone}'`,
        ...help('invalid_timezone', 'use an IANA name such as UTC, Europe/Oslo or America/New_York'),
      })
    }
  })
  .meta({ id: 'schedule', description: 'Start runs on a cron schedule.' })

export const webhookTrigger = z
  .object({
    auth: z
      .enum(['hmac', 'bearer'])
      .default('hmac')
      .meta({ description: 'hmac signature (or GitHub) or bearer token.' }),
    secret: z.string().min(1).meta({ description: 'Name of the secret holding the HMAC key or bearer token.' }),
    inputs: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'Flow inputs from the request: templates over body, headers and query.' }),
    dedupe: template('Template over body/headers/query; requests with a seen value start no new run.').optional(),
  })
  .strict()
  .meta({ description: 'Start runs from POST /hooks/<slug>.' })

export const triggers = z
  .object({
    manual: z
      .union([z.object({}).strict(), z.boolean(), z.null()], { error: 'expected {} or true/false' })
      .optional()
      .meta({ description: 'Allow starting from Slack, the CLI and the API. On when triggers is absent.' }),
    schedule: z
      .union([scheduleTrigger, z.array(scheduleTrigger).min(1)], { error: 'expected a schedule or a list of them' })
      .optional(),
    webhook: webhookTrigger.optional(),
  })
  .strict()

export type ScheduleTrigger = z.infer<typeof scheduleTrigger>
export type WebhookTrigger = z.infer<typeof webhookTrigger>
export type Triggers = z.infer<typeof triggers>

/** The schedules of a flow as a list, whichever spelling it used. */
export function schedulesOf(value: Triggers | undefined): ScheduleTrigger[] {
  const schedule = value?.schedule
  return schedule === undefined ? [] : Array.isArray(schedule) ? schedule : [schedule]
}

/** Manual starts are allowed when the flow lists no triggers, or lists `manual` without turning it off. */
export function allowsManualRuns(value: Triggers | undefined): boolean {
  return value === undefined || (value.manual !== undefined && value.manual !== false)
}
