// A pool of child processes that evaluate flow expressions under the budget. V8 aborts the whole process on some
// allocation failures (even inside a worker thread with resourceLimits), so only another process contains them; a
// watchdog kills an evaluator that overruns its time (a regular expression that backtracks forever never yields).
import { type ChildProcess, fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ExpressionBudget, ExpressionScope, IsolatedEvaluator } from '../core/flow/index.ts'
import { AppError, RetryableError, TerminalError } from '../errors.ts'
import type { EvaluateReply, EvaluateRequest } from './protocol.ts'

export interface ExpressionPoolOptions {
  budget: ExpressionBudget
  /** Heap of each evaluator process. */
  memoryMb: number
  /** Evaluator processes at most; each evaluates one expression at a time. */
  workers: number
  /** Time an evaluator gets past the budget before the watchdog kills it (its own guard should stop it first). */
  graceMs?: number
}

export interface ExpressionPool extends IsolatedEvaluator {
  /** Starts one evaluator ahead of the first expression that needs it. */
  warm(): void
  close(): Promise<void>
  /** Evaluators killed or dead since start (watchdog, heap exhaustion). */
  readonly deaths: number
}

interface Job {
  expression: string
  scope: ExpressionScope
  resolve(value: unknown): void
  reject(error: unknown): void
}

interface Evaluator {
  child: ChildProcess
  ready: Promise<void>
  job: Job | undefined
  timer: NodeJS.Timeout | undefined
  /** Why the evaluator was stopped, when we stopped it. */
  killedFor: 'time' | undefined
  started: boolean
}

const CHILD_ENTRY = 'src/sandbox/expression-child.ts'

/** bin/run-ts.mjs builds and runs a TypeScript entry; found from src/ or from a bundle under dist/. */
function findRunner(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'bin', 'run-ts.mjs')
    if (existsSync(candidate) && existsSync(join(dir, CHILD_ENTRY))) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`No bin/run-ts.mjs above ${fileURLToPath(import.meta.url)}.`)
    dir = parent
  }
}

export function createExpressionPool(options: ExpressionPoolOptions): ExpressionPool {
  const { budget } = options
  const graceMs = options.graceMs ?? 500
  const runner = findRunner()
  const evaluators = new Set<Evaluator>()
  const idle: Evaluator[] = []
  const queue: Job[] = []
  let nextId = 1
  let deaths = 0
  let closed = false

  function spawn(): Evaluator {
    const child = fork(runner, [CHILD_ENTRY], {
      execArgv: [`--max-old-space-size=${options.memoryMb}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    })
    child.unref()
    child.channel?.unref()
    let markReady: () => void = () => {}
    const evaluator: Evaluator = {
      child,
      ready: new Promise<void>((resolve) => {
        markReady = resolve
      }),
      job: undefined,
      timer: undefined,
      killedFor: undefined,
      started: false,
    }
    child.on('message', (message: EvaluateReply) => {
      if (message.id === 0) {
        evaluator.started = true
        markReady()
        return
      }
      const job = evaluator.job
      if (!job) return
      finish(evaluator)
      if (message.ok) job.resolve(message.value)
      else
        job.reject(
          new TerminalError(message.code, message.message, {
            ...(message.hint === undefined ? {} : { hint: message.hint }),
            ...(message.details === undefined ? {} : { details: message.details }),
          }),
        )
      release(evaluator)
    })
    child.on('exit', () => {
      evaluators.delete(evaluator)
      const at = idle.indexOf(evaluator)
      if (at !== -1) idle.splice(at, 1)
      markReady()
      const job = evaluator.job
      if (job) {
        deaths++
        finish(evaluator)
        job.reject(
          !evaluator.started
            ? new RetryableError('evaluator_unavailable', 'The expression evaluator could not start.')
            : evaluator.killedFor === 'time'
              ? limit(job.expression, `ran longer than its time budget of ${budget.timeoutMs} ms`)
              : limit(job.expression, `used more than the evaluator's ${options.memoryMb} MB of memory`),
        )
      }
      pump()
    })
    child.on('error', () => {}) // 'exit' follows and settles the job
    evaluators.add(evaluator)
    return evaluator
  }

  function finish(evaluator: Evaluator): void {
    clearTimeout(evaluator.timer)
    evaluator.timer = undefined
    evaluator.job = undefined
  }

  function release(evaluator: Evaluator): void {
    if (closed) return
    idle.push(evaluator)
    pump()
  }

  const limit = (expression: string, reason: string) =>
    new TerminalError(
      'expression_limit',
      `{{${expression.length > 120 ? `${expression.slice(0, 117)}…` : expression}}} ${reason}.`,
      {
        hint: 'Simplify the expression, or move the work to an http or job step.',
        details: { timeout_ms: budget.timeoutMs, memory_mb: options.memoryMb },
      },
    )

  function pump(): void {
    while (!closed && queue.length > 0) {
      const evaluator = idle.pop() ?? (evaluators.size < options.workers ? spawn() : undefined)
      if (!evaluator) return
      const job = queue.shift() as Job
      void run(evaluator, job)
    }
  }

  async function run(evaluator: Evaluator, job: Job): Promise<void> {
    evaluator.job = job
    await evaluator.ready
    if (evaluator.job !== job) return // the evaluator died while starting; its exit settled the job
    const request: EvaluateRequest = { id: nextId++, expression: job.expression, scope: job.scope, budget }
    try {
      evaluator.child.send(request)
    } catch (error) {
      finish(evaluator)
      job.reject(
        new TerminalError('expression_failed', `{{${job.expression}}} could not be evaluated: its scope is not data.`, {
          cause: error,
        }),
      )
      release(evaluator)
      return
    }
    evaluator.timer = setTimeout(() => {
      evaluator.killedFor = 'time'
      evaluator.child.kill('SIGKILL')
    }, budget.timeoutMs + graceMs)
  }

  return {
    budget,
    get deaths() {
      return deaths
    },
    evaluate(expression, scope) {
      if (closed) return Promise.reject(new AppError('shutting_down', 'The server is stopping.', { status: 503 }))
      return new Promise((resolve, reject) => {
        queue.push({ expression, scope, resolve, reject })
        pump()
      })
    },
    warm() {
      if (evaluators.size === 0 && !closed) idle.push(spawn())
    },
    async close() {
      closed = true
      for (const job of queue.splice(0)) job.reject(new AppError('shutting_down', 'The server is stopping.'))
      await Promise.all(
        [...evaluators].map(
          (evaluator) =>
            new Promise<void>((resolve) => {
              if (evaluator.child.exitCode !== null || evaluator.child.signalCode !== null) return resolve()
              evaluator.child.once('exit', () => resolve())
              // Unreferenced, the child's exit would not keep a stopping server alive long enough to hear it.
              evaluator.child.ref()
              evaluator.child.kill('SIGKILL')
            }),
        ),
      )
    },
  }
}
