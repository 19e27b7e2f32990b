// What a CLI command is: a plain function from parsed arguments to data; main.ts prints it and picks the exit code.
import { parseArgs } from 'node:util'
import type { CliConfig } from '../config.ts'
import { closest } from '../core/suggest.ts'
import { AppError } from '../errors.ts'
import type { ApiClient } from './client.ts'

export interface CommandResult {
  data: unknown
  /** Ready-to-run follow-up commands, shown as meta.next. */
  next?: string[]
  meta?: Record<string, unknown>
  /** The command already printed its document through ctx.emit (serve prints when ready, not when it ends). */
  emitted?: boolean
}

export interface CommandContext {
  config: CliConfig
  env: Record<string, string | undefined>
  /** The API client; creating it fails with exit 3 when the CLI is not configured. */
  api(): ApiClient
  cwd: string
  /** Long-running commands (serve, worker) wait on this to stop. */
  signal: AbortSignal
  /** For commands that must report readiness before they finish (serve). */
  emit(doc: unknown): void
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>

export interface Command {
  /** e.g. "flows push" */
  name: string
  usage: string
  summary: string
  options?: OptionSpec
  /** More for `--help` to show (tokens create: the scopes and what --as means), merged into its data. */
  help?: Record<string, unknown>
  run(ctx: CommandContext, args: ParsedArgs): Promise<CommandResult>
}

export interface ParsedArgs {
  positionals: string[]
  values: Record<string, string | boolean | (string | boolean)[] | undefined>
}

export function usageError(message: string, usage: string): AppError {
  return new AppError('invalid_usage', message, { status: 400, hint: `Usage: ${usage}` })
}

/** `--tiemout` for `runs wait`: names the closest flag the command has, and where its flags are listed. */
function unknownFlag(command: Command, flag: string, options: OptionSpec): AppError {
  const typed = flag.replace(/^-+/, '')
  const names = [...Object.keys(options), 'help']
  const match = typed.length >= 2 ? closest(typed, names) : undefined
  const suggestion = match === undefined ? undefined : `--${match}`
  const help = `Run 'greenlight ${command.name} --help'.`
  return new AppError('unknown_flag', `Unknown flag '${flag}' for '${command.name}'.`, {
    status: 400,
    hint: suggestion ? `Did you mean '${suggestion}'? ${help}` : help,
    details: { flag, ...(suggestion ? { suggestion } : {}) },
  })
}

export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  const options: OptionSpec = { ...command.options, pretty: { type: 'boolean' } }
  // A lenient pass finds flags the command does not have, which the strict one would report in Node's words.
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true })
  const unknown = tokens.find((t) => t.kind === 'option' && !Object.hasOwn(options, t.name))
  if (unknown?.kind === 'option') throw unknownFlag(command, unknown.rawName, options)
  try {
    const { positionals, values } = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
    return { positionals, values }
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error), command.usage)
  }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name]
  return typeof value === 'string' ? value : undefined
}

export function listOption(args: ParsedArgs, name: string): string[] {
  const value = args.values[name]
  const raw = Array.isArray(value) ? value : typeof value === 'string' ? [value] : []
  return raw
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter(Boolean)
}

export function positional(args: ParsedArgs, index: number, name: string, usage: string): string {
  const value = args.positionals[index]
  if (value === undefined || value === '') throw usageError(`Missing <${name}>.`, usage)
  return value
}

export function expectPositionals(args: ParsedArgs, max: number, usage: string): void {
  if (args.positionals.length > max) {
    throw usageError(`Unexpected argument '${args.positionals[max]}'.`, usage)
  }
}
