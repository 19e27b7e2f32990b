// `greenlight worker`: long-polls for jobs of one type, runs the handler command per job (payload on stdin and in
// env), heartbeats while it runs, and posts its stdout (JSON) as the result, or its failure. Runs until SIGINT/SIGTERM.
import { spawn } from 'node:child_process'
import { parseDuration } from '../../core/flow/index.ts'
import { isAppError } from '../../errors.ts'
import type { ApiClient } from '../client.ts'
import { type Command, expectPositionals, stringOption, usageError } from '../command.ts'

interface Job {
  id: string
  type: string
  run_id: string
  step: string
  attempt: number
  lease: string
  payload: unknown
}

interface HandlerResult {
  code: number | null
  signal: string | null
  stdout: string
  stderr: string
}

const MAX_CAPTURE = 16 * 1024 * 1024
const MAX_ENV_PAYLOAD = 64 * 1024

function log(fields: Record<string, unknown>, msg: string): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields, msg })}\n`)
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })

/** Lines a handler writes to stderr as `progress: <text>` become heartbeat progress (a line in the run's thread). */
const PROGRESS = /^progress:\s*(.+)$/

function runHandler(
  command: string,
  env: NodeJS.ProcessEnv,
  job: Job,
  abort: AbortSignal,
  onProgress: (text: string) => void,
): Promise<HandlerResult> {
  const payload = JSON.stringify(job.payload ?? null)
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...env,
        GREENLIGHT_JOB_ID: job.id,
        GREENLIGHT_JOB_TYPE: job.type,
        GREENLIGHT_JOB_ATTEMPT: String(job.attempt),
        GREENLIGHT_RUN_ID: job.run_id,
        GREENLIGHT_STEP: job.step,
        ...(payload.length <= MAX_ENV_PAYLOAD ? { GREENLIGHT_JOB_PAYLOAD: payload } : {}),
      },
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let outBytes = 0
    child.stdout.on('data', (c: Buffer) => {
      outBytes += c.length
      if (outBytes <= MAX_CAPTURE) out.push(c)
    })
    let partial = ''
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 1024) err.push(c)
      const lines = (partial + c.toString('utf8')).split('\n')
      partial = (lines.pop() ?? '').slice(-4000)
      for (const line of lines) {
        const match = PROGRESS.exec(line.trim())
        if (match?.[1]) onProgress(match[1])
      }
    })
    const kill = () => child.kill('SIGKILL')
    abort.addEventListener('abort', kill, { once: true })
    child.stdin.on('error', () => {}) // a handler that ignores stdin closes it early
    child.stdin.end(payload)
    child.on('error', (error) => {
      abort.removeEventListener('abort', kill)
      resolve({ code: 127, signal: null, stdout: '', stderr: String(error) })
    })
    child.on('close', (code, signal) => {
      abort.removeEventListener('abort', kill)
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      })
    })
  })
}

/** Posts with retries on network errors and 5xx: completion is idempotent for the lease holder. */
async function post(api: ApiClient, path: string, body: unknown, attempts = 5): Promise<Record<string, unknown>> {
  for (let i = 1; ; i++) {
    try {
      return await api.post(path, body)
    } catch (error) {
      const transient = isAppError(error) && (error.status >= 500 || error.code === 'server_unreachable')
      if (!transient || i >= attempts) throw error
      await sleep(250 * 2 ** i)
    }
  }
}

function resultOf(stdout: string): unknown {
  const text = stdout.trim()
  if (text === '') return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export const worker: Command = {
  name: 'worker',
  usage: 'greenlight worker --type <type> --handler <command> [--concurrency N] [--lease 60s] [--poll 20s]',
  summary: 'Run jobs of one type: the handler gets the payload on stdin and prints the result as JSON.',
  options: {
    type: { type: 'string' },
    handler: { type: 'string' },
    concurrency: { type: 'string' },
    lease: { type: 'string' },
    poll: { type: 'string' },
  },
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const type = stringOption(args, 'type')
    const handler = stringOption(args, 'handler')
    if (!type || !/^[a-z][a-z0-9_.:-]{0,62}$/.test(type))
      throw usageError('--type is required: the job type of the flow steps to serve.', this.usage)
    if (!handler) throw usageError('--handler is required: the command that runs one job.', this.usage)
    const concurrency = Number(stringOption(args, 'concurrency') ?? '1')
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
      throw usageError('--concurrency must be 1 to 64.', this.usage)
    const leaseMs = parseDuration(stringOption(args, 'lease') ?? '60s') ?? Number.NaN
    if (!(leaseMs >= 1000 && leaseMs <= 3_600_000))
      throw usageError('--lease must be a duration from 1s to 1h, e.g. 60s.', this.usage)
    const pollMs = parseDuration(stringOption(args, 'poll') ?? '20s') ?? Number.NaN
    if (!(pollMs >= 0 && pollMs <= 30_000)) throw usageError('--poll must be a duration up to 30s.', this.usage)
    const api = ctx.api()
    const stop = ctx.signal
    const counts = { completed: 0, failed: 0, lost: 0 }

    async function work(job: Job): Promise<void> {
      const abort = new AbortController()
      let lost = false
      const beat = setInterval(
        () => {
          post(api, `/jobs/${job.id}/heartbeat`, { lease: job.lease, lease_ms: leaseMs }, 2).catch((error: unknown) => {
            if (isAppError(error) && (error.code === 'lease_lost' || error.status === 404)) {
              lost = true
              abort.abort()
            }
          })
        },
        Math.max(300, Math.floor(leaseMs / 3)),
      )
      let result: HandlerResult
      try {
        result = await runHandler(handler as string, ctx.env, job, abort.signal, (progress) => {
          post(api, `/jobs/${job.id}/heartbeat`, { lease: job.lease, lease_ms: leaseMs, progress }, 2).catch(() => {})
        })
      } finally {
        clearInterval(beat)
      }
      const fields = { job: job.id, run: job.run_id, attempt: job.attempt }
      if (lost) {
        counts.lost++
        log(fields, 'lease lost; the job was handed to another worker')
        return
      }
      try {
        if (result.code === 0) {
          await post(api, `/jobs/${job.id}/complete`, { lease: job.lease, result: resultOf(result.stdout) })
          counts.completed++
          log(fields, 'job completed')
        } else {
          const why = result.code === null ? `signal ${result.signal}` : `exit code ${result.code}`
          const tail = result.stderr.trim().split('\n').slice(-5).join('\n')
          await post(api, `/jobs/${job.id}/fail`, {
            lease: job.lease,
            reason: `Handler failed (${why}). ${tail}`.trim(),
          })
          counts.failed++
          log(fields, 'job failed')
        }
      } catch (error) {
        counts.lost++
        log({ ...fields, err: isAppError(error) ? error.code : String(error) }, 'could not report the job')
      }
    }

    async function slot(): Promise<void> {
      while (!stop.aborted) {
        let job: Job | null = null
        try {
          const data = await api.post(
            `/jobs/claim?type=${encodeURIComponent(type as string)}&wait_ms=${pollMs}&lease_ms=${leaseMs}`,
            {},
          )
          job = (data.job as Job | null) ?? null
        } catch (error) {
          if (isAppError(error) && error.status < 500 && error.code !== 'server_unreachable') throw error
          log({ err: isAppError(error) ? error.code : String(error) }, 'claim failed; retrying')
          await sleep(1000, stop)
          continue
        }
        if (job) await work(job)
      }
    }

    log({ type, concurrency, lease_ms: leaseMs }, 'worker started')
    await Promise.all(Array.from({ length: concurrency }, () => slot()))
    return { data: { worker: { type, status: 'stopped', ...counts } } }
  },
}
