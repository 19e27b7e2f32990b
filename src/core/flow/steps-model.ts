// Schemas of the machine step kinds (http, ssh, wait, notify, sleep, kv, transform, job) and their cross-field rules.
import { z } from 'zod'
import { duration, help, scalarMap, stringList, template } from './model-common.ts'

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const
const statusCode = z.number().int().min(100).max(599)
const hasTemplate = (text: string): boolean => text.includes('{{')

export const httpStep = z
  .object({
    method: z.enum(HTTP_METHODS).default('GET'),
    url: template('Absolute http(s) URL. Use connection + path instead for APIs that need credentials.').optional(),
    connection: z.string().min(1).optional().meta({ description: 'Name of an http connection (base URL + auth).' }),
    path: template('Path appended to the connection base URL, starting with /.').optional(),
    headers: scalarMap.optional(),
    query: scalarMap.optional(),
    json: z.unknown().optional().meta({ description: 'Request body sent as JSON; strings inside may hold {{ }}.' }),
    body: template('Raw request body (text).').optional(),
    expect_status: z
      .union([statusCode, z.array(statusCode).min(1)], { error: 'expected a status code or a list of status codes' })
      .optional()
      .meta({ description: 'Accepted status code(s); default any 2xx.' }),
  })
  .strict()
  .superRefine((http, ctx) => {
    // One way to address the endpoint, so it is never ambiguous which base URL and credentials are used.
    if (http.url !== undefined && (http.connection !== undefined || http.path !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'use either url or connection + path, not both',
        ...help('conflicting_keys', 'remove url, or remove connection and path'),
      })
    } else if (http.url === undefined && (http.connection === undefined || http.path === undefined)) {
      const [path, message, fix] =
        http.connection === undefined && http.path === undefined
          ? [
              [],
              'an http step needs url, or connection and path',
              'add url: https://… or connection: <name> + path: /…',
            ]
          : http.path === undefined
            ? [['path'], 'connection needs a path', 'add path: /…']
            : [['connection'], 'path needs a connection', 'add connection: <name>']
      ctx.addIssue({ code: 'custom', path, message, ...help('missing_key', fix) })
    }
    if (http.url !== undefined && !hasTemplate(http.url) && !/^https?:\/\/[^\s/]+/.test(http.url)) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'url must be an absolute http:// or https:// URL',
        ...help('invalid_url', 'write the full URL, e.g. https://api.example.com/v1/things'),
      })
    }
    if (http.path !== undefined && !http.path.startsWith('/') && !http.path.startsWith('{{')) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: 'path must start with /',
        ...help('invalid_value', `write /${http.path}`),
      })
    }
    if (http.json !== undefined && http.body !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['body'],
        message: 'use either json or body, not both',
        ...help('conflicting_keys', 'keep json for a JSON payload, body for raw text'),
      })
    }
  })

export const sshStep = z
  .object({
    connection: z
      .string()
      .min(1)
      .meta({ description: 'Name of an ssh connection (host, user, key, pinned host key).' }),
    command: template('Shell command run on the remote host.').min(1),
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names use letters, digits and _'),
        z.union([z.string(), z.number(), z.boolean()]),
      )
      .optional()
      .meta({ description: 'Environment for the command; delivered without relying on the server accepting SendEnv.' }),
    cwd: template('Working directory on the remote host.').optional(),
    detach: z.boolean().default(false).meta({ description: 'Start in the background and return at once.' }),
    ok_exit_codes: z.array(z.number().int().min(0).max(255)).min(1).default([0]),
    timeout: duration.optional().meta({ description: 'Kill the command after this long.' }),
  })
  .strict()

export const waitStep = z
  .object({
    timeout: duration.optional().meta({ description: 'How long to wait for the callback; default: until canceled.' }),
    on_timeout: z.enum(['fail', 'continue']).default('fail'),
    default: z.unknown().optional().meta({ description: 'Output when the wait times out with on_timeout: continue.' }),
    schema: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'JSON Schema the callback payload must match (422 otherwise; the wait stays open).' }),
    notify: template('Thread message posted while waiting.').optional(),
  })
  .strict()

export const notifyStep = z
  .object({
    text: template('Message text (Slack mrkdwn).').optional(),
    blocks: z.array(z.record(z.string(), z.unknown())).optional().meta({ description: 'Block Kit blocks.' }),
    channel: template('Channel to post in; default the run thread.').optional(),
    dm: stringList.optional().meta({ description: 'Slack user ids to send a direct message.' }),
    broadcast: z.boolean().default(false).meta({ description: 'Also show the thread reply in the channel.' }),
  })
  .strict()
  .refine((notify) => notify.text !== undefined || notify.blocks !== undefined, {
    message: 'a notify step needs text or blocks',
    ...help('missing_key', 'add text: "…"'),
  })

export const sleepStep = z
  .object({
    duration: duration.optional(),
    until: template('ISO 8601 timestamp (or a template producing one) to sleep until.').optional(),
  })
  .strict()
  .superRefine((sleep, ctx) => {
    if ((sleep.duration === undefined) === (sleep.until === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'a sleep step needs exactly one of duration or until',
        ...help(sleep.duration === undefined ? 'missing_key' : 'conflicting_keys', 'write duration: 5m or until: "…"'),
      })
    }
    if (sleep.until !== undefined && !hasTemplate(sleep.until) && !Number.isFinite(Date.parse(sleep.until))) {
      ctx.addIssue({
        code: 'custom',
        path: ['until'],
        message: 'until is not a timestamp',
        ...help('invalid_value', 'write an ISO 8601 timestamp such as 2025-01-31T09:00:00Z'),
      })
    }
  })

export const KV_OPS = ['get', 'set', 'delete', 'incr', 'append'] as const

export const kvStep = z
  .object({
    op: z.enum(KV_OPS),
    key: z.union([template().min(1), z.number().int()]).meta({
      description: 'Key; templates allowed, e.g. "seen:{{ inputs.issue }}". An integer names the key of its digits.',
    }),
    value: z.unknown().optional().meta({ description: 'Value to set/append, or the amount to incr by (default 1).' }),
    ttl: duration.optional().meta({ description: 'Expire the key after this long.' }),
    if_not_exists: z.boolean().optional().meta({ description: 'For set: only write when the key is absent.' }),
  })
  .strict()
  .superRefine((kv, ctx) => {
    const issue = (path: string, message: string, code: string, fix: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message, ...help(code, fix) })
    if ((kv.op === 'set' || kv.op === 'append') && kv.value === undefined) {
      issue('op', `op ${kv.op} needs a value`, 'missing_key', 'add value: …')
    }
    if ((kv.op === 'get' || kv.op === 'delete') && kv.value !== undefined) {
      issue('value', `op ${kv.op} takes no value`, 'invalid_value', 'remove value')
    }
    if ((kv.op === 'get' || kv.op === 'delete') && kv.ttl !== undefined) {
      issue('ttl', `op ${kv.op} takes no ttl`, 'invalid_value', 'remove ttl')
    }
    if (kv.if_not_exists !== undefined && kv.op !== 'set') {
      issue('if_not_exists', 'if_not_exists applies to op set only', 'invalid_value', 'remove if_not_exists')
    }
  })

/**
 * A transform is a JSONata expression whose value becomes the step output. Two spellings:
 * `transform: { expr: "<JSONata>" }` or the shorthand `transform: "<JSONata>"`. In both, a string that holds `{{ }}`
 * follows the template rule (exactly one `{{ }}` keeps its type, otherwise text); a string without `{{` is a bare
 * JSONata expression, which suits multi-line transforms.
 */
export const transformStep = z
  .union(
    [
      z.string().min(1, 'the expression is empty'),
      z.object({ expr: z.string().min(1, 'the expression is empty') }).strict(),
    ],
    { error: 'expected a JSONata expression or { expr: <JSONata expression> }' },
  )
  .meta({ description: 'JSONata expression (bare or in {{ }}), or { expr: … }; its value is the step output.' })

export const jobStep = z
  .object({
    type: z
      .string()
      .regex(/^[a-z][a-z0-9_.:-]{0,62}$/, 'job types use lowercase letters, digits and _ . : -')
      .meta({ description: 'Worker type, as in `greenlight worker --type <type>`.' }),
    payload: z.unknown().optional().meta({ description: 'JSON handed to the worker; strings may hold {{ }}.' }),
    timeout: duration.optional().meta({ description: 'How long to wait for a worker to finish.' }),
  })
  .strict()

export type HttpStep = z.infer<typeof httpStep>
export type SshStep = z.infer<typeof sshStep>
export type WaitStep = z.infer<typeof waitStep>
export type NotifyStep = z.infer<typeof notifyStep>
export type SleepStep = z.infer<typeof sleepStep>
export type KvStep = z.infer<typeof kvStep>
export type KvOp = (typeof KV_OPS)[number]
export type TransformStep = z.infer<typeof transformStep>
export type JobStep = z.infer<typeof jobStep>
export type HttpMethod = (typeof HTTP_METHODS)[number]

/** The JSONata source of a transform step, whichever spelling the flow used. */
export function transformSource(transform: TransformStep): string {
  return typeof transform === 'string' ? transform : transform.expr
}
