// Runs the real `greenlight` bin as a child process and parses its one JSON document.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import type { Json } from './runs.ts'

export const ROOT = join(import.meta.dirname, '..', '..')
export const BIN = join(ROOT, 'bin', 'greenlight.mjs')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of the CLI's JSON document
  json: any
}

export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd ?? ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        let json: unknown
        try {
          json = JSON.parse(stdout)
        } catch {
          json = undefined
        }
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr, json })
      },
    )
    if (options.input !== undefined) child.stdin?.end(options.input)
  })
}

/** Starts `greenlight serve` as a child process and resolves once it printed its ready document. */
export function spawnServe(options: {
  env?: Record<string, string>
  cwd?: string
}): Promise<{ child: ChildProcess; url: string; doc: unknown }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve'], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n')[0]
      if (out.includes('\n') && line) {
        try {
          const doc = JSON.parse(line) as { data: { server: { url: string } } }
          resolve({ child, url: doc.data.server.url, doc })
        } catch (error) {
          reject(error)
        }
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString()
    })
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}\n${err}`)))
  })
}

/** Sends `signal` to a child process (unless it has already exited) and resolves once it has exited. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill(signal)
  })
}

/** A JSON API call to a spawned server: the answer's envelope with its HTTP status beside it. */
export async function callServe(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Json> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, ...((await response.json()) as Json) }
}
