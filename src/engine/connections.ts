// Named connections (ssh, http, database): validated configuration that names secrets, and their resolution for steps.
import { z } from 'zod'
import type { Redactor } from '../core/redact.ts'
import { AppError, notFound } from '../errors.ts'
import type { Clock } from './ports.ts'
import type { Secrets } from './secrets.ts'

export interface ConnectionRecord {
  name: string
  type: string
  config: unknown
  createdAt: number
  updatedAt: number
}

export interface ConnectionRepository {
  put(record: ConnectionRecord): Promise<void>
  get(name: string): Promise<ConnectionRecord | undefined>
  list(): Promise<ConnectionRecord[]>
  delete(name: string): Promise<boolean>
}

const NAME = /^[a-z][a-z0-9_.-]{0,62}$/
const SECRET_NAME = z.string().regex(/^[a-z][a-z0-9_.-]{0,62}$/, 'a secret name (lower-case letters, digits, _ . -)')
/** OpenSSH's `ssh-keygen -l -E sha256` spelling: SHA256: and unpadded base64 of 32 bytes. */
export const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/
const HEADER_NAME = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'an HTTP header name')

export const sshConfig = z
  .object({
    host: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^\s@/]+$/, 'a host name or address without spaces, @ or /'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._-]+$/, 'a user name'),
    private_key_secret: SECRET_NAME.optional(),
    passphrase_secret: SECRET_NAME.optional(),
    password_secret: SECRET_NAME.optional(),
    host_key: z
      .string()
      .regex(FINGERPRINT, 'a fingerprint as `ssh-keygen -l -E sha256` prints it: SHA256:<43 base64 characters>')
      .optional(),
  })
  .strict()
  .refine((c) => (c.private_key_secret === undefined) !== (c.password_secret === undefined), {
    message: 'an ssh connection needs exactly one of private_key_secret or password_secret',
  })

export const httpConfig = z
  .object({
    base_url: z
      .string()
      .max(2000)
      .refine((u) => {
        try {
          return ['http:', 'https:'].includes(new URL(u).protocol)
        } catch {
          return false
        }
      }, 'an absolute http(s) URL'),
    auth: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('bearer'), secret: SECRET_NAME }).strict(),
        z.object({ type: z.literal('header'), header: HEADER_NAME, secret: SECRET_NAME }).strict(),
        z.object({ type: z.literal('basic'), username: z.string().min(1).max(200), secret: SECRET_NAME }).strict(),
      ])
      .optional(),
    headers: z.record(HEADER_NAME, z.string().max(4000)).optional(),
  })
  .strict()

/** The database engines a `database` connection reaches, by URL scheme. */
export type DatabaseEngine = 'postgres' | 'libsql'

export function databaseEngine(url: string): DatabaseEngine | undefined {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres'
  if (/^(libsql:\/\/|file:)/i.test(url)) return 'libsql'
  return undefined
}

/** Query parameters that carry a credential in one driver or the other; like a password in the URL, refused. */
const CREDENTIAL_PARAMS = new Set(['password', 'authtoken', 'auth_token', 'sslpassword'])

export const databaseConfig = z
  .object({
    url: z
      .string()
      .min(1)
      .max(2000)
      .refine((u) => databaseEngine(u) !== undefined, 'a postgres://, postgresql://, libsql:// or file: URL'),
    password_secret: SECRET_NAME.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const engine = databaseEngine(c.url)
    if (engine === undefined) return
    let url: URL | undefined
    try {
      url = new URL(c.url)
    } catch {
      if (engine === 'postgres') ctx.addIssue({ code: 'custom', path: ['url'], message: 'not a valid URL' })
    }
    // The configuration is shown to every admin and stored in clear: credentials live in secrets only.
    const credential =
      (url?.password ?? '') !== '' ||
      [...(url?.searchParams.keys() ?? [])].some((k) => CREDENTIAL_PARAMS.has(k.toLowerCase()))
    if (credential) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'the URL holds a password; store it as a secret and name it with password_secret (--password-secret) instead',
      })
    }
    if (c.url.toLowerCase().startsWith('file:') && c.password_secret !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['password_secret'],
        message: 'a file: database has no password; remove password_secret',
      })
    }
  })

export type SshConfig = z.infer<typeof sshConfig>
export type HttpConfig = z.infer<typeof httpConfig>
export type DatabaseConfig = z.infer<typeof databaseConfig>

export interface ResolvedSsh {
  name: string
  host: string
  port: number
  user: string
  privateKey?: string
  passphrase?: string
  password?: string
  hostKey: string | null
}

export interface ResolvedDatabase {
  name: string
  engine: DatabaseEngine
  url: string
  /** Postgres: the role's password; libsql://: the auth token. */
  password?: string
}

export interface ResolvedHttp {
  baseUrl: string
  headers: Record<string, string>
}

function invalid(error: z.ZodError, type: string): AppError {
  const problems = error.issues.map((i) => `${i.path.join('.') || type}: ${i.message}`)
  return new AppError('invalid_connection', `The ${type} connection is not valid: ${problems.join('; ')}.`, {
    hint: 'See docs/agents.md for the fields of ssh, http and database connections.',
    details: { problems: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  })
}

export function secretNames(type: string, config: unknown): string[] {
  if (type === 'ssh') {
    const c = config as SshConfig
    return [c.private_key_secret, c.passphrase_secret, c.password_secret].filter((s): s is string => !!s)
  }
  if (type === 'database') {
    const c = config as DatabaseConfig
    return c.password_secret ? [c.password_secret] : []
  }
  const c = config as HttpConfig
  return c.auth ? [c.auth.secret] : []
}

const CONFIG_SCHEMAS = { ssh: sshConfig, http: httpConfig, database: databaseConfig } as const
type ConnectionType = keyof typeof CONFIG_SCHEMAS
const isConnectionType = (type: unknown): type is ConnectionType =>
  typeof type === 'string' && Object.hasOwn(CONFIG_SCHEMAS, type)

export function createConnections(deps: {
  repository: ConnectionRepository
  secrets: Secrets
  clock: Clock
  redactor: Redactor
}) {
  const { repository, secrets, clock, redactor } = deps

  async function reveal(name: string): Promise<string> {
    const value = await secrets.reveal(name)
    redactor.add(value)
    return value
  }

  async function require(name: string, type: ConnectionType): Promise<ConnectionRecord> {
    const row = await repository.get(name)
    if (row?.type !== type) {
      throw notFound('connection_not_found', `No ${type} connection named '${name}'.`, {
        hint: `Create it with 'greenlight connections set ${name} --type ${type} …'.`,
      })
    }
    return row
  }

  return {
    async set(name: string, input: unknown): Promise<{ connection: ReturnType<typeof view>; created: boolean }> {
      if (!NAME.test(name)) {
        throw new AppError('invalid_name', `'${name}' is not a valid connection name.`, {
          hint: 'Use lower-case letters, digits and _ . - (up to 63), starting with a letter.',
        })
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input))
        throw new AppError('invalid_body', 'The connection must be a JSON object with a type.')
      const { type, ...rest } = input as Record<string, unknown>
      if (!isConnectionType(type)) {
        throw new AppError(
          'invalid_connection',
          `The connection type must be 'ssh', 'http' or 'database', not '${String(type)}'.`,
        )
      }
      const parsed = CONFIG_SCHEMAS[type].safeParse(rest)
      if (!parsed.success) throw invalid(parsed.error, type)
      const known = new Set((await secrets.list()).map((s) => s.name))
      const missing = secretNames(type, parsed.data).filter((s) => !known.has(s))
      if (missing.length > 0) {
        throw new AppError(
          'secret_not_found',
          `The connection names secret(s) that do not exist: ${missing.join(', ')}.`,
          {
            hint: `Set them first: 'greenlight secrets set ${missing[0]}' (value on stdin).`,
            details: { missing: { secrets: missing } },
          },
        )
      }
      const existing = await repository.get(name)
      const now = clock.now()
      const record = { name, type, config: parsed.data, createdAt: existing?.createdAt ?? now, updatedAt: now }
      await repository.put(record)
      return { connection: view(record), created: existing === undefined }
    },

    list: async () => (await repository.list()).map(view),

    async show(name: string) {
      const row = await repository.get(name)
      if (!row)
        throw notFound('connection_not_found', `No connection named '${name}'.`, {
          hint: "Run 'greenlight connections list'.",
        })
      return view(row)
    },

    async delete(name: string): Promise<void> {
      if (!(await repository.delete(name))) {
        throw notFound('connection_not_found', `No connection named '${name}'.`, {
          hint: "Run 'greenlight connections list'.",
        })
      }
    },

    /** Base URL and auth headers, secrets decrypted (and remembered by the redactor). */
    async http(name: string): Promise<ResolvedHttp> {
      const c = (await require(name, 'http')).config as HttpConfig
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(c.headers ?? {})) headers[k.toLowerCase()] = v
      if (c.auth?.type === 'bearer') headers.authorization = `Bearer ${await reveal(c.auth.secret)}`
      if (c.auth?.type === 'header') headers[c.auth.header.toLowerCase()] = await reveal(c.auth.secret)
      if (c.auth?.type === 'basic') {
        const encoded = Buffer.from(`${c.auth.username}:${await reveal(c.auth.secret)}`).toString('base64')
        redactor.add(encoded)
        headers.authorization = `Basic ${encoded}`
      }
      return { baseUrl: c.base_url, headers }
    },

    /** The database URL and its password (decrypted, and remembered by the redactor). */
    async database(name: string): Promise<ResolvedDatabase> {
      const c = (await require(name, 'database')).config as DatabaseConfig
      const engine = databaseEngine(c.url) ?? 'postgres'
      return {
        name,
        engine,
        url: c.url,
        ...(c.password_secret ? { password: await reveal(c.password_secret) } : {}),
      }
    },

    async ssh(name: string): Promise<ResolvedSsh> {
      const c = (await require(name, 'ssh')).config as SshConfig
      return {
        name,
        host: c.host,
        port: c.port,
        user: c.user,
        hostKey: c.host_key ?? null,
        ...(c.private_key_secret ? { privateKey: await reveal(c.private_key_secret) } : {}),
        ...(c.passphrase_secret ? { passphrase: await reveal(c.passphrase_secret) } : {}),
        ...(c.password_secret ? { password: await reveal(c.password_secret) } : {}),
      }
    },
  }
}

/** What the API shows: the configuration, which names secrets but never holds their values. */
function view(row: ConnectionRecord) {
  return {
    name: row.name,
    type: row.type,
    config: row.config,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  }
}

export type Connections = ReturnType<typeof createConnections>
