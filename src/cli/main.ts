// CLI entry: argv → command → exactly one JSON document on stdout → exit code (0 ok, 1 failed, 2 usage/input, 3 unreachable/unconfigured).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type CliConfig, loadCliConfig } from '../config.ts'
import { closest } from '../core/suggest.ts'
import { AppError, isAppError } from '../errors.ts'
import { createApiClient } from './client.ts'
import { type CommandContext, type CommandResult, parseCommandArgs } from './command.ts'
import { COMMANDS, findCommand } from './registry.ts'

const INPUT_STATUSES = new Set([400, 413, 415, 422])
const UNCONFIGURED_CODES = new Set([
  'server_unreachable',
  'not_configured',
  'invalid_cli_config',
  'unauthorized',
  'bad_response',
  'not_greenlight',
])

export function exitCodeFor(error: AppError): number {
  if (UNCONFIGURED_CODES.has(error.code)) return 3
  if (INPUT_STATUSES.has(error.status)) return 2
  return 1
}

function help(group?: string): CommandResult {
  const commands = COMMANDS.filter((c) => group === undefined || c.name.startsWith(`${group} `))
  return {
    data: {
      usage: `greenlight ${group ?? '<command>'} [options] [--pretty]`,
      commands: commands.map((c) => ({ command: `greenlight ${c.name}`, summary: c.summary })),
      exit_codes: {
        0: 'ok',
        1: 'the operation failed',
        2: 'bad usage or invalid input',
        3: 'server unreachable or not configured',
      },
      environment: {
        GREENLIGHT_URL: 'server URL (default http://127.0.0.1:3000)',
        GREENLIGHT_TOKEN: 'API token (default: data/cli-token, only when the variable is unset)',
      },
    },
    next: commands.slice(0, 3).map((c) => `greenlight ${c.name} --help`),
  }
}

function unknownCommand(argv: string[]): AppError {
  const typed = argv.slice(0, 2).join(' ')
  const groups = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0] ?? ''))]
  const suggestion =
    closest(
      typed,
      COMMANDS.map((c) => c.name),
    ) ?? closest(argv[0] ?? '', groups)
  return new AppError('unknown_command', `'${typed}' is not a greenlight command.`, {
    status: 400,
    hint: suggestion ? `Did you mean 'greenlight ${suggestion}'? Run 'greenlight --help'.` : "Run 'greenlight --help'.",
    details: suggestion ? { suggestion } : {},
  })
}

function createContext(
  env: Record<string, string | undefined>,
  emit: (doc: unknown) => void,
  givenSignal: AbortSignal | undefined,
): CommandContext {
  // Read when a command first needs it: offline commands (flows validate, serve) do not depend on the CLI's variables.
  let config: CliConfig | undefined
  const cliConfig = () => {
    config ??= loadCliConfig(env)
    return config
  }
  let signal = givenSignal
  return {
    get config() {
      return cliConfig()
    },
    env,
    cwd: process.cwd(),
    // Only long-running commands ask for it; short ones keep Ctrl-C's default behaviour.
    get signal() {
      signal ??= shutdownSignal()
      return signal
    },
    emit,
    api() {
      const config = cliConfig()
      let token = config.token
      if (token === undefined) {
        try {
          token = readFileSync(join(config.dataDir, 'cli-token'), 'utf8').trim()
        } catch {
          throw new AppError(
            'not_configured',
            'No API token: GREENLIGHT_TOKEN is not set and data/cli-token does not exist.',
            {
              hint: "Start the server here with 'npm start' (it writes data/cli-token), or set GREENLIGHT_TOKEN and GREENLIGHT_URL.",
            },
          )
        }
      }
      return createApiClient(config.url, token)
    },
  }
}

export interface MainOptions {
  env?: Record<string, string | undefined>
  write?: (text: string) => void
  signal?: AbortSignal
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const pretty = argv.includes('--pretty')
  const write = options.write ?? ((text: string) => process.stdout.write(text))
  const print = (doc: unknown) => write(`${JSON.stringify(doc, null, pretty ? 2 : undefined)}\n`)
  const words = argv.filter((a) => a !== '--pretty')
  try {
    const wantsHelp = words.includes('--help') || words.includes('-h')
    const found = findCommand(words)
    let result: CommandResult
    if (words.length === 0 || (wantsHelp && !found) || words[0] === 'help') {
      const group = words[0] === 'help' ? words[1] : words.find((w) => !w.startsWith('-'))
      if (group !== undefined && !COMMANDS.some((c) => c.name.startsWith(`${group} `) || c.name === group))
        throw unknownCommand(words)
      result = help(group)
    } else if (!found) {
      throw unknownCommand(words)
    } else {
      const command = await found.entry.load()
      if (wantsHelp) {
        result = {
          data: {
            command: `greenlight ${command.name}`,
            usage: command.usage,
            summary: command.summary,
            options: command.options ?? {},
            ...command.help,
          },
        }
      } else {
        const args = parseCommandArgs(command, found.rest)
        result = await command.run(createContext(options.env ?? process.env, print, options.signal), args)
      }
    }
    if (!result.emitted) print({ ok: true, data: result.data, meta: { ...result.meta, next: result.next ?? [] } })
    return 0
  } catch (error) {
    const appError = isAppError(error)
      ? error
      : new AppError('internal_error', error instanceof Error ? error.message : String(error), { status: 500 })
    if (!isAppError(error)) process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
    print({ ok: false, error: appError.toJSON() })
    return exitCodeFor(appError)
  }
}

function shutdownSignal(): AbortSignal {
  const controller = new AbortController()
  for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => controller.abort())
  return controller.signal
}
