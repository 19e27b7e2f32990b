// Starts a real `greenlight serve` child process on a fresh temp directory for benchmarks and demos.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from './root.ts'

export interface BenchServer {
  url: string
  token: string
  secretKey: Buffer
  child: ChildProcess
  dir: string
  /** Stops the server and removes its directory; `keepData` leaves the directory (its database) for a floor server. */
  stop(options?: { keepData?: boolean }): Promise<void>
}

/**
 * The Node.js flags `npm start` gives the server (package.json's start script), so a bench measures the server as
 * it is documented to run. BENCH_NODE_FLAGS overrides them (BENCH_NODE_FLAGS= for V8's defaults).
 */
export function serverNodeFlags(): string[] {
  const override = process.env.BENCH_NODE_FLAGS
  if (override !== undefined) return override.split(/\s+/).filter((flag) => flag !== '')
  const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { scripts: { start: string } }
  const words = pkg.scripts.start.split(/\s+/)
  return words.slice(1, words.indexOf('bin/greenlight.mjs')).filter((word) => word.startsWith('--'))
}

/**
 * `dir` (with `secretKey`) starts the server on a directory an earlier server (or a bench's fill) left, to measure a
 * database as it has grown; by default a fresh temp directory and key.
 */
export async function startBenchServer(
  env: Record<string, string> = {},
  options: { dir?: string; secretKey?: Buffer } = {},
): Promise<BenchServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'greenlight-bench-'))
  const secretKey = options.secretKey ?? randomBytes(32)
  const profile = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : []
  const flags = [...serverNodeFlags(), ...profile]
  const child = spawn(process.execPath, [...flags, join(repoRoot(), 'bin', 'greenlight.mjs'), 'serve'], {
    cwd: dir,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', GREENLIGHT_SECRET_KEY: secretKey.toString('base64'), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n')[0]
      if (out.includes('\n') && line)
        resolve((JSON.parse(line) as { data: { server: { url: string } } }).data.server.url)
    })
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)))
  })
  const token = readFileSync(join(dir, 'data', 'cli-token'), 'utf8').trim()
  return {
    url,
    token,
    secretKey,
    child,
    dir,
    async stop(options = {}) {
      await stopChild(child)
      if (!options.keepData) rmSync(dir, { recursive: true, force: true })
    },
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

/** A floor server's side of startFloorServer: listen on a free loopback port and print it as the first line. */
export function listenAndAnnounce(server: Server): void {
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
  })
}

/** The whole body of a request, as bytes. */
export function readRequestBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.once('end', () => resolve(Buffer.concat(chunks)))
    request.once('error', reject)
  })
}

/**
 * Starts a bench's floor server (a TypeScript script of bench/ run through bin/run-ts.mjs, with the flags `npm start`
 * gives the real server) and waits for the `{"port": …}` line it prints when listening.
 */
export async function startFloorServer(
  script: string,
  args: string[],
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [...serverNodeFlags(), join(repoRoot(), 'bin', 'run-ts.mjs'), script, ...args],
    {
      cwd: repoRoot(),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0] as string) as { port: number }).port)
    })
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
  })
  return { url: `http://127.0.0.1:${port}`, child, stop: () => stopChild(child) }
}

/** Peak and current resident memory of a process, from /proc (Linux). */
export function memoryOf(pid: number): { rss_mb: number; peak_rss_mb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { rss_mb: +(kb('VmRSS') / 1024).toFixed(1), peak_rss_mb: +(kb('VmHWM') / 1024).toFixed(1) }
}

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc (Linux). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  // After the command name: utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second).
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10
}

export async function call(
  server: { url: string; token: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: { ok: boolean; data?: Record<string, unknown>; error?: unknown } }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${server.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, json: (await response.json()) as never }
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
}
