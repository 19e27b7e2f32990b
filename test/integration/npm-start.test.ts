// `npm start` as a service manager or a terminal runs it: a signal to npm's own pid must stop the server under it.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from '../support/cli.ts'
import { eventually } from '../support/runs.ts'

interface Started {
  npm: ChildProcess
  url: string
  pid: number
}

/** Runs `npm start` with the server on a free port; resolves with its URL and the pid from the ready line. */
function npmStart(dataDir: string): Promise<Started> {
  return new Promise((resolve, reject) => {
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: '0',
        GREENLIGHT_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    npm.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      // npm prints its banner first; the server's ready document is the first line that is JSON.
      const line = out.split('\n').find((l) => l.startsWith('{') && out.includes(`${l}\n`))
      if (line === undefined) return
      const doc = JSON.parse(line) as { data: { server: { url: string; pid: number } } }
      resolve({ npm, url: doc.data.server.url, pid: doc.data.server.pid })
    })
    npm.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString()
    })
    npm.once('exit', (code) => reject(new Error(`npm start exited with ${code}: ${out}\n${err}`)))
  })
}

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Every process (the shell npm runs scripts in included) whose environment names this test's data directory. */
function processesOf(dataDir: string): number[] {
  if (!existsSync('/proc')) return []
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(`GREENLIGHT_DATA_DIR=${dataDir}\0`))
        found.push(Number(entry))
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found
}

describe('npm start', () => {
  const dirs: string[] = []
  const leftovers: number[] = []
  afterAll(() => {
    for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL')
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops the server when npm itself gets %s: the port closes and no process is left behind',
    async (signal) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'greenlight-npm-start-'))
      dirs.push(dataDir)
      const { npm, url, pid } = await npmStart(dataDir)
      leftovers.push(pid)
      expect(pid).not.toBe(npm.pid)
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
      const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)))
      npm.kill(signal)
      await exited
      await eventually(async () => ((await portOpen(url)) ? undefined : true), `${url} to close`, 15_000)
      await eventually(
        async () => (alive(pid) || processesOf(dataDir).length > 0 ? undefined : true),
        () => `no process left for ${dataDir} (server ${pid} alive: ${alive(pid)}, others: ${processesOf(dataDir)})`,
        15_000,
      )
    },
    45_000,
  )
})
