// Every environment variable Greenlight reads, validated in one place; all problems are reported at once.
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { DEFAULT_MAX_FLOW_STEPS } from './core/flow/validate.ts'
import { DEFAULT_RETENTION, parseRetention } from './core/retention-period.ts'
import { DEFAULT_MAX_RUN_EVENTS } from './core/run-limits.ts'
import { AppError } from './errors.ts'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export interface SlackConfig {
  botToken: string
  appToken: string | undefined
  signingSecret: string | undefined
  apiUrl: string
  mode: 'socket' | 'http'
  /** Least time between two updates of one run's Slack messages (SLACK_UPDATE_INTERVAL_MS, default 1 s). */
  updateIntervalMs?: number
}

export interface Config {
  databaseUrl: string
  databaseAuthToken: string | undefined
  port: number
  host: string
  publicUrl: string
  /** False when PUBLIC_URL was not set: the server then derives it from the address it bound. */
  publicUrlSet: boolean
  slack: SlackConfig | undefined
  /** 32 bytes from GREENLIGHT_SECRET_KEY; undefined means "generate or read data/secret.key at start". */
  secretKey: Buffer | undefined
  admins: string[]
  defaultChannel: string | undefined
  dataDir: string
  logLevel: LogLevel
  /** Outputs and callback bodies above this many bytes are stored as res:// resources. */
  resourceThresholdBytes: number
  /** Largest callback or webhook body accepted (413 beyond), and the most of an http step's response read. */
  maxBodyBytes: number
  /** How long an instance's claim on a run lasts without renewal. */
  leaseMs: number
  /** The budget of one flow expression, and the isolated evaluators that enforce it. */
  expressions: { timeoutMs: number; memoryMb: number; workers: number }
  /** A run whose step was taken over after this many instance deaths in a row fails with `crashed_repeatedly`. */
  maxTakeovers: number
  /** How long a SIGTERM waits for in-flight requests and steps before it hands the rest back and exits. */
  shutdownTimeoutMs: number
  /** Most steps a flow may have: a longer one is refused at push (`too_many_steps`). */
  maxFlowSteps: number
  /** Most events one run may record: a run that would record more fails with `event_limit`. */
  maxRunEvents: number
  /** GREENLIGHT_RETENTION: ended runs older than this are pruned (default 90 days); null when `off`. */
  retentionMs: number | null
  /** GREENLIGHT_PRUNE_PAUSE_MS: a pause between prune batches, leaving the database to other writers (default 0). */
  prunePauseMs: number
}

export interface CliConfig {
  url: string
  token: string | undefined
  dataDir: string
}

export interface ConfigProblem {
  variable: string
  problem: string
  fix: string
}

export class ConfigError extends AppError {
  readonly problems: ConfigProblem[]

  /** `code` tells the server's configuration (invalid_config, exit 2) from the CLI's (invalid_cli_config, exit 3). */
  constructor(problems: ConfigProblem[], code = 'invalid_config') {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.problem} Fix: ${p.fix}`)
    super(code, `Configuration has ${problems.length} problem(s):\n${lines.join('\n')}`, {
      details: { problems },
      hint: 'Fix the variables listed above and start again.',
    })
    this.name = 'ConfigError'
    this.problems = problems
  }
}

type Env = Record<string, string | undefined>

/** Reads values and collects problems instead of stopping at the first one. */
class Reader {
  readonly problems: ConfigProblem[] = []
  constructor(private readonly env: Env) {}

  string(name: string): string | undefined {
    const value = this.env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }

  integer(name: string, fallback: number, min: number, max: number, fix: string): number {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      this.problems.push({ variable: name, problem: `'${raw}' is not a whole number from ${min} to ${max}.`, fix })
      return fallback
    }
    return value
  }

  url(name: string, fallback: string, protocols: string[], fix: string): string {
    const raw = this.string(name) ?? fallback
    try {
      const parsed = new URL(raw)
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol')
      return raw
    } catch {
      this.problems.push({ variable: name, problem: `'${raw}' is not a ${protocols.join(' or ')} URL.`, fix })
      return fallback
    }
  }

  problem(variable: string, problem: string, fix: string): void {
    this.problems.push({ variable, problem, fix })
  }
}

/**
 * HOST as the address to bind: an IP address (IPv6 with or without brackets) or a host name. Returns the address
 * to listen on, or what is wrong with it.
 */
export function parseHost(raw: string): { host: string } | { problem: string } {
  const bracketed = /^\[(.*)\]$/.exec(raw)
  const host = bracketed ? (bracketed[1] ?? '') : raw
  // A zone (fe80::1%eth0) is refused: no URL can carry it, so PUBLIC_URL could not be derived from HOST.
  if (host.includes('%')) return { problem: `'${raw}' has an IPv6 zone (%…), which a URL cannot carry; use ::.` }
  if (isIP(host) !== 0 && (bracketed === null || isIP(host) === 6)) return { host }
  const labels = host.split('.')
  // A last label of digits (or 0x…) reads as an IPv4 number to resolvers and URLs ('1' is 0.0.0.1): not a name.
  const numeric = /^(?:\d+|0x[0-9a-f]*)$/i.test(labels.at(-1) ?? '')
  if (bracketed === null && host.length <= 253 && !numeric && labels.every((label) => HOST_LABEL.test(label)))
    return { host }
  if (numeric && /^[\d.x]+$/i.test(raw)) return { problem: `'${raw}' is not a valid IP address.` }
  if (raw.includes('://')) return { problem: `'${raw}' is a URL, not an address to listen on.` }
  if (/^[^:]+:\d*$/.test(raw)) return { problem: `'${raw}' holds a port; HOST is the address alone.` }
  return { problem: `'${raw}' is not an IP address or a host name.` }
}

const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

function readHost(read: Reader): string {
  const raw = read.string('HOST')
  if (raw === undefined) return '127.0.0.1'
  const parsed = parseHost(raw)
  if ('host' in parsed) return parsed.host
  read.problem(
    'HOST',
    parsed.problem,
    'Use the address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 or :: (every interface), or a host name; the port goes in PORT and the public URL in PUBLIC_URL.',
  )
  return '127.0.0.1'
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`
}

function readDatabaseUrl(read: Reader, dataDir: string): string {
  const raw = read.string('DATABASE_URL')
  if (raw === undefined) return `file:${resolve(dataDir, 'greenlight.db')}`
  if (!/^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/)/.test(raw)) {
    read.problem(
      'DATABASE_URL',
      `'${raw}' is not a libSQL URL.`,
      "Use 'file:./data/greenlight.db' for an embedded database or 'libsql://host' / 'https://host' for a server.",
    )
  }
  return raw
}

function readSlack(read: Reader): SlackConfig | undefined {
  const botToken = read.string('SLACK_BOT_TOKEN')
  const appToken = read.string('SLACK_APP_TOKEN')
  const signingSecret = read.string('SLACK_SIGNING_SECRET')
  const apiUrl = withTrailingSlash(
    read.url(
      'SLACK_API_URL',
      'https://slack.com/api/',
      ['http:', 'https:'],
      "Use Slack's default or a test server URL.",
    ),
  )
  if (botToken === undefined) {
    if (appToken !== undefined || signingSecret !== undefined) {
      read.problem(
        'SLACK_BOT_TOKEN',
        'is missing while other Slack variables are set.',
        "Copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page.",
      )
    }
    return undefined
  }
  if (!botToken.startsWith('xoxb-')) {
    read.problem('SLACK_BOT_TOKEN', 'does not start with xoxb-.', 'Use the Bot User OAuth Token, not a user token.')
  }
  if (appToken !== undefined && !appToken.startsWith('xapp-')) {
    read.problem('SLACK_APP_TOKEN', 'does not start with xapp-.', 'Create an app-level token with connections:write.')
  }
  if (appToken === undefined && signingSecret === undefined) {
    read.problem(
      'SLACK_SIGNING_SECRET',
      'is required for HTTP mode (no SLACK_APP_TOKEN is set).',
      "Copy the Signing Secret from your app's Basic Information page, or set SLACK_APP_TOKEN for Socket Mode.",
    )
  }
  const updateIntervalMs = read.integer(
    'SLACK_UPDATE_INTERVAL_MS',
    1_000,
    0,
    60_000,
    'Use milliseconds such as 1000 (Slack sustains about one update per message per second).',
  )
  return {
    botToken,
    appToken,
    signingSecret,
    apiUrl,
    mode: appToken === undefined ? 'http' : 'socket',
    updateIntervalMs,
  }
}

function readSecretKey(read: Reader): Buffer | undefined {
  const raw = read.string('GREENLIGHT_SECRET_KEY')
  if (raw === undefined) return undefined
  const key = Buffer.from(raw, 'base64')
  if (key.length !== 32 || !/^[A-Za-z0-9+/=_-]+$/.test(raw)) {
    read.problem(
      'GREENLIGHT_SECRET_KEY',
      `decodes to ${key.length} bytes; 32 are required.`,
      "Generate one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64'))\"",
    )
    return undefined
  }
  return key
}

function readRetention(read: Reader): number | null {
  const raw = read.string('GREENLIGHT_RETENTION') ?? DEFAULT_RETENTION
  const ms = parseRetention(raw)
  if (ms !== undefined) return ms
  read.problem(
    'GREENLIGHT_RETENTION',
    `'${raw}' is not a retention period.`,
    'Use a whole number and a unit (s, m, h, d, w) such as 90d, or off to keep every run.',
  )
  return parseRetention(DEFAULT_RETENTION) ?? null
}

/** Reads the server's configuration; throws one ConfigError listing every problem. */
export function loadConfig(env: Env): Config {
  const read = new Reader(env)
  const dataDir = resolve(read.string('GREENLIGHT_DATA_DIR') ?? './data')
  const databaseUrl = readDatabaseUrl(read, dataDir)
  const port = read.integer('PORT', 3000, 0, 65535, 'Use a TCP port such as 3000 (0 picks a free one).')
  const host = readHost(read)
  const publicUrl = read
    .url(
      'PUBLIC_URL',
      `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      ['http:', 'https:'],
      'Use the URL remote agents and Slack users reach this server at, e.g. https://greenlight.example.com.',
    )
    .replace(/\/+$/, '')
  const logLevel = (read.string('LOG_LEVEL') ?? 'info') as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) {
    read.problem('LOG_LEVEL', `'${logLevel}' is not a log level.`, `Use one of ${LOG_LEVELS.join(', ')}.`)
  }
  const admins = (read.string('GREENLIGHT_ADMINS') ?? '').split(/[\s,]+/).filter(Boolean)
  for (const admin of admins) {
    if (!/^[UW][A-Z0-9]{2,}$/.test(admin)) {
      read.problem(
        'GREENLIGHT_ADMINS',
        `'${admin}' is not a Slack user id.`,
        'List user ids such as U012ABCDEF, comma-separated.',
      )
    }
  }
  const config: Config = {
    databaseUrl,
    databaseAuthToken: read.string('DATABASE_AUTH_TOKEN'),
    port,
    host,
    publicUrl,
    publicUrlSet: read.string('PUBLIC_URL') !== undefined,
    slack: readSlack(read),
    secretKey: readSecretKey(read),
    admins,
    defaultChannel: read.string('GREENLIGHT_DEFAULT_CHANNEL'),
    dataDir,
    logLevel: LOG_LEVELS.includes(logLevel) ? logLevel : 'info',
    resourceThresholdBytes: read.integer(
      'GREENLIGHT_RESOURCE_THRESHOLD',
      256 * 1024,
      1024,
      64 * 1024 * 1024,
      'Use a byte count such as 262144.',
    ),
    maxBodyBytes: read.integer(
      'GREENLIGHT_MAX_BODY_BYTES',
      32 * 1024 * 1024,
      1024,
      1024 * 1024 * 1024,
      'Use a byte count such as 33554432.',
    ),
    leaseMs: read.integer('GREENLIGHT_LEASE_MS', 15_000, 1_000, 3_600_000, 'Use milliseconds such as 15000.'),
    expressions: {
      timeoutMs: read.integer(
        'GREENLIGHT_EXPRESSION_TIMEOUT_MS',
        1_000,
        10,
        60_000,
        'Use milliseconds such as 1000: the longest one flow expression may evaluate.',
      ),
      memoryMb: read.integer(
        'GREENLIGHT_EXPRESSION_MEMORY_MB',
        128,
        32,
        4_096,
        'Use megabytes such as 128: the heap of each isolated expression evaluator.',
      ),
      workers: read.integer(
        'GREENLIGHT_EXPRESSION_WORKERS',
        2,
        1,
        16,
        'Use a small count such as 2: isolated expression evaluators run at once.',
      ),
    },
    maxTakeovers: read.integer(
      'GREENLIGHT_MAX_TAKEOVERS',
      3,
      1,
      100,
      'Use a small count such as 3: instance deaths in a row on one step before its run fails.',
    ),
    shutdownTimeoutMs: read.integer(
      'GREENLIGHT_SHUTDOWN_TIMEOUT_MS',
      10_000,
      0,
      3_600_000,
      'Use milliseconds such as 10000: how long SIGTERM waits for in-flight requests and steps before exiting.',
    ),
    maxFlowSteps: read.integer(
      'GREENLIGHT_MAX_FLOW_STEPS',
      DEFAULT_MAX_FLOW_STEPS,
      1,
      100_000,
      'Use a step count such as 1000: the most steps one flow may have.',
    ),
    maxRunEvents: read.integer(
      'GREENLIGHT_MAX_RUN_EVENTS',
      DEFAULT_MAX_RUN_EVENTS,
      100,
      100_000_000,
      'Use an event count such as 100000: the most events one run may record before it fails with event_limit.',
    ),
    retentionMs: readRetention(read),
    prunePauseMs: read.integer(
      'GREENLIGHT_PRUNE_PAUSE_MS',
      0,
      0,
      60_000,
      'Use milliseconds such as 50: the pause between two prune batches.',
    ),
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems)
  return config
}

/** An API token as `greenlight tokens create` prints it; the server refuses anything else unread. */
const API_TOKEN = /^glt_[A-Za-z0-9_-]{1,196}$/

/**
 * GREENLIGHT_URL as the CLI uses it: an http(s) URL of the server, without credentials, query or fragment (the CLI
 * appends /api/v1/…). Returns it without trailing slashes, or what is wrong with it and how to fix it.
 */
export function parseServerUrl(raw: string): { url: string } | { problem: string; fix: string } {
  const fix =
    'Use the URL of a running greenlight serve, such as http://127.0.0.1:3000 or https://greenlight.example.com.'
  let parsed: URL | undefined
  try {
    parsed = new URL(raw)
  } catch {
    parsed = undefined
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.host === '') {
    let guess: URL | undefined
    try {
      guess = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? undefined : new URL(`http://${raw}`)
    } catch {
      guess = undefined
    }
    const maybe = guess && guess.hostname !== '' && !/\s/.test(raw) ? ` Did you mean 'http://${raw}'?` : ''
    return { problem: `'${raw}' is not an http:// or https:// URL.`, fix: `${fix}${maybe}` }
  }
  if (parsed.username !== '' || parsed.password !== '')
    return { problem: 'holds a user name or password.', fix: `${fix} The token goes in GREENLIGHT_TOKEN.` }
  if (parsed.search !== '' || parsed.hash !== '')
    return { problem: `'${raw}' has a query or a fragment.`, fix: `${fix} Leave out everything from '?' or '#'.` }
  return { url: `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '') }
}

/**
 * Reads what the CLI needs to reach a server. It fails closed: GREENLIGHT_TOKEN set but empty or not a token is an
 * error, never a quiet fall back to the admin token in data/cli-token.
 */
export function loadCliConfig(env: Env): CliConfig {
  const read = new Reader(env)
  let url = 'http://127.0.0.1:3000'
  const rawUrl = env.GREENLIGHT_URL
  if (rawUrl !== undefined) {
    const parsed = parseServerUrl(rawUrl.trim())
    if ('url' in parsed) url = parsed.url
    else read.problem('GREENLIGHT_URL', parsed.problem, parsed.fix)
  }
  const rawToken = env.GREENLIGHT_TOKEN
  const token = rawToken?.trim()
  if (rawToken !== undefined && token !== undefined && !API_TOKEN.test(token)) {
    read.problem(
      'GREENLIGHT_TOKEN',
      token === ''
        ? 'is set but empty.'
        : `is not an API token (they look like glt_ followed by letters, digits, '-' and '_'; ${token.length} characters given).`,
      "Set it to a token from 'greenlight tokens create' (just the token, no 'Bearer '), or unset it to use the local token in data/cli-token.",
    )
  }
  const config = { url, token, dataDir: resolve(read.string('GREENLIGHT_DATA_DIR') ?? './data') }
  if (read.problems.length > 0) throw new ConfigError(read.problems, 'invalid_cli_config')
  return config
}
