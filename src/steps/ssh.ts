// ssh: runs a command on a remote host over ssh2, with the host key pinned. Sync mode returns exit code and streams;
// detach mode starts the command in its own session (it outlives our connection) and returns at once.
import { createHash } from 'node:crypto'
import type { Client, ClientChannel } from 'ssh2'
import { parseDuration, toOptionalText, toText } from '../core/flow/index.ts'
import type { ResolvedSsh } from '../engine/connections.ts'
import type { StepRunner } from '../engine/step-runner.ts'
import { RetryableError, TerminalError } from '../errors.ts'

export interface SshRunnerDeps {
  /** Resolves a named ssh connection, secrets decrypted. */
  sshConnection(name: string): Promise<ResolvedSsh>
}

/** Each stream is kept up to this many bytes in memory; the interpreter turns large outputs into res:// resources. */
export const MAX_STREAM_BYTES = 8 * 1024 * 1024
const CONNECT_TIMEOUT_MS = 15_000
const PID_MARKER = '__greenlight_pid:'
const PID_LINE = new RegExp(`^${PID_MARKER}(\\d+)\\n`)

/** POSIX single quoting: safe for any byte sequence but NUL. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/** `SHA256:<unpadded base64>`, as `ssh-keygen -l -E sha256` prints a key's fingerprint. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

/**
 * The command line sent to the server. Stock OpenSSH refuses environment requests (no AcceptEnv), so variables are
 * exported by the shell itself, quoted; the working directory is entered the same way.
 */
export function buildCommand(c: { command: unknown; env?: Record<string, unknown>; cwd?: unknown; detach?: boolean }) {
  // Values become text by the one rule (toText); a variable whose template found nothing is not exported at all.
  const exports = Object.entries(c.env ?? {})
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .flatMap(([k, v]) => {
      const text = toOptionalText(v)
      return text === undefined ? [] : [`export ${k}=${shellQuote(text)};`]
    })
  const cwd = toText(c.cwd)
  const cd = cwd ? `cd ${shellQuote(cwd)} || exit 1;` : ''
  const command = toText(c.command)
  // Detached: a new session (setsid) without our pipes, so neither the channel closing nor SIGHUP reaches it.
  if (c.detach)
    return [...exports, cd, `nohup setsid sh -c ${shellQuote(command)} >/dev/null 2>&1 </dev/null & echo $!`]
      .filter(Boolean)
      .join(' ')
  // Sync: sshd makes the shell a session leader; its pid (first line of stderr, stripped again) lets a timeout kill
  // the whole process group, not only the shell (OpenSSH's signal request reaches the shell alone).
  return [`printf '${PID_MARKER}%s\\n' $$ >&2;`, ...exports, cd, command].filter(Boolean).join(' ')
}

interface Capture {
  chunks: Buffer[]
  bytes: number
  truncated: boolean
}

function capture(): Capture {
  return { chunks: [], bytes: 0, truncated: false }
}

function append(into: Capture, chunk: Buffer): void {
  const room = MAX_STREAM_BYTES - into.bytes
  if (room <= 0) {
    into.truncated = true
    return
  }
  const part = chunk.length > room ? chunk.subarray(0, room) : chunk
  if (part.length < chunk.length) into.truncated = true
  into.chunks.push(part)
  into.bytes += part.length
}

/** ssh2 is loaded on the first ssh step: a server that never runs one does not carry it in memory. */
async function connect(target: ResolvedSsh, signal: AbortSignal): Promise<Client> {
  const { Client: SshClient } = await import('ssh2')
  return new Promise((resolve, reject) => {
    const client = new SshClient()
    let seen: string | undefined
    let settled = false
    const done = (error?: Error) => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      if (error) {
        client.end()
        reject(error)
      } else resolve(client)
    }
    const onAbort = () => done(new RetryableError('ssh_aborted', 'The ssh step was interrupted.'))
    signal.addEventListener('abort', onAbort, { once: true })
    client.on('ready', () => done())
    client.on('error', (error: Error & { level?: string }) => {
      if (seen !== undefined && seen !== target.hostKey) {
        done(
          target.hostKey === null
            ? new TerminalError(
                'ssh_host_key_unpinned',
                `Connection '${target.name}' has no pinned host key; ${target.host}:${target.port} presented ${seen}.`,
                {
                  hint: `If that is the server's key, pin it: greenlight connections set ${target.name} … --host-key ${seen}`,
                  details: { seen },
                },
              )
            : new TerminalError(
                'ssh_host_key_mismatch',
                `Host key of ${target.host}:${target.port} is ${seen}, not the pinned ${target.hostKey}; refusing to connect.`,
                {
                  hint: 'If the server was rebuilt, verify its new key out of band and update the connection.',
                  details: { seen, pinned: target.hostKey },
                },
              ),
        )
        return
      }
      const auth = error.level === 'client-authentication'
      done(
        auth
          ? new TerminalError(
              'ssh_auth_failed',
              `${target.user}@${target.host}:${target.port} refused the credentials of connection '${target.name}'.`,
            )
          : new RetryableError('ssh_unreachable', `Cannot reach ${target.host}:${target.port}: ${error.message}`),
      )
    })
    client.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout: CONNECT_TIMEOUT_MS,
      ...(target.privateKey ? { privateKey: target.privateKey } : {}),
      ...(target.passphrase ? { passphrase: target.passphrase } : {}),
      ...(target.password ? { password: target.password } : {}),
      hostVerifier: (key: Buffer) => {
        seen = fingerprint(key)
        return target.hostKey !== null && seen === target.hostKey
      },
    })
  })
}

function exec(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, stream) => (error ? reject(error) : resolve(stream)))
  })
}

export function createSshRunner(deps: SshRunnerDeps): StepRunner {
  return {
    kind: 'ssh',
    billable: true,
    async run(ctx) {
      const c = ctx.config as {
        connection: string
        command: string
        env?: Record<string, unknown>
        cwd?: string
        detach?: boolean
        ok_exit_codes?: number[]
        timeout?: string
      }
      const target = await deps.sshConnection(c.connection)
      const started = Date.now()
      const client = await connect(target, ctx.signal)
      try {
        let stream: ClientChannel
        try {
          stream = await exec(client, buildCommand(c))
        } catch (error) {
          throw new RetryableError('ssh_exec_failed', `The server refused to run the command: ${String(error)}`)
        }
        const timeoutText = c.timeout ?? (ctx.step.def.timeout as string | undefined)
        const timeoutMs = c.detach
          ? CONNECT_TIMEOUT_MS
          : timeoutText === undefined
            ? undefined
            : parseDuration(timeoutText)
        const stdout = capture()
        const stderr = capture()
        const result = await new Promise<{ code: number | null; signal: string | null; timedOut: boolean }>(
          (resolve) => {
            let timer: NodeJS.Timeout | undefined
            let finished = false
            let timedOut = false
            const finish = (r: { code: number | null; signal: string | null; timedOut: boolean }) => {
              if (finished) return
              finished = true
              clearTimeout(timer)
              resolve(r)
            }
            if (timeoutMs !== undefined) {
              timer = setTimeout(() => {
                timedOut = true
                const pid = PID_LINE.exec(Buffer.concat(stderr.chunks).toString('utf8'))?.[1]
                const killGroup = pid
                  ? exec(client, `kill -KILL -- -${pid} 2>/dev/null; kill -KILL ${pid} 2>/dev/null; true`).then(
                      (killer) => new Promise<void>((done) => killer.on('close', () => done()).resume()),
                    )
                  : Promise.resolve()
                const settle = () => {
                  // The signal request as a fallback (OpenSSH ≥ 7.9), then drop the channel either way.
                  try {
                    stream.signal('KILL')
                  } catch {}
                  stream.close()
                  finish({ code: null, signal: 'KILL', timedOut: true })
                }
                Promise.race([killGroup, new Promise((r) => setTimeout(r, 3000))]).then(settle, settle)
              }, timeoutMs)
            }
            let exit: { code: number | null; signal: string | null } = { code: null, signal: null }
            stream.on('data', (chunk: Buffer) => append(stdout, chunk))
            stream.stderr.on('data', (chunk: Buffer) => append(stderr, chunk))
            stream.on('exit', (code: number | null, signal?: string) => {
              exit = { code: typeof code === 'number' ? code : null, signal: signal ?? null }
            })
            stream.on('close', () => finish({ ...exit, timedOut }))
            ctx.signal.addEventListener('abort', () => {
              stream.close()
              finish({ code: null, signal: null, timedOut: false })
            })
          },
        )
        const output: Record<string, unknown> = {
          exit_code: result.code,
          stdout: Buffer.concat(stdout.chunks).toString('utf8'),
          stderr: Buffer.concat(stderr.chunks).toString('utf8').replace(PID_LINE, ''),
          duration_ms: Date.now() - started,
          ...(result.signal ? { signal: result.signal } : {}),
          ...(stdout.truncated ? { stdout_truncated: true } : {}),
          ...(stderr.truncated ? { stderr_truncated: true } : {}),
        }
        if (c.detach) {
          const pid = Number.parseInt(String(output.stdout).trim(), 10)
          if (result.code !== 0 || !Number.isFinite(pid)) {
            throw new RetryableError('ssh_detach_failed', `The command could not be started in the background.`, {
              details: { output },
            })
          }
          return { type: 'done', output: { ...output, detached: true, pid } }
        }
        if (result.timedOut) {
          throw new RetryableError('ssh_timeout', `The command ran longer than ${timeoutText} and was killed.`, {
            details: { output },
          })
        }
        if (ctx.signal.aborted) throw new RetryableError('ssh_aborted', 'The ssh step was interrupted.')
        const ok = c.ok_exit_codes ?? [0]
        if (result.code === null || !ok.includes(result.code)) {
          // Retryable: a flow opts into retries with `retry:`, and a failed command is often transient.
          throw new RetryableError(
            'ssh_exit_code',
            result.code === null
              ? `The command was ended by signal ${result.signal ?? 'unknown'}.`
              : `The command exited with ${result.code} (ok: ${ok.join(', ')}).`,
            { details: { output } },
          )
        }
        return { type: 'done', output }
      } finally {
        client.end()
      }
    },
  }
}
