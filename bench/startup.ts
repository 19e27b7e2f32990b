// Measures `greenlight serve` start → /readyz 200, and the wall time of `greenlight flows list`; prints JSON.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from './support/root.ts'

const ROOT = repoRoot()
const BIN = join(ROOT, 'bin', 'greenlight.mjs')
const RUNS = Number(process.env.BENCH_RUNS ?? 7)

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

async function startOnce(fresh: boolean, cwd: string): Promise<{ ms: number; stop: () => Promise<void>; url: string }> {
  if (fresh) rmSync(join(cwd, 'data'), { recursive: true, force: true })
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const start = performance.now()
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'error' },
    stdio: 'ignore',
  })
  for (;;) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break
    } catch {}
    await new Promise((r) => setTimeout(r, 5))
  }
  const ms = performance.now() - start
  return {
    ms,
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0
  return {
    runs: s.length,
    min_ms: +(s[0] ?? 0).toFixed(1),
    p50_ms: +q(0.5).toFixed(1),
    max_ms: +(s.at(-1) ?? 0).toFixed(1),
  }
}

const cwd = mkdtempSync(join(tmpdir(), 'greenlight-bench-'))
// Warm the bundle once, as `npm ci && npm start` does on first use.
execFileSync(process.execPath, [BIN, '--help'], { cwd: ROOT })

const freshStarts: number[] = []
const warmStarts: number[] = []
let last: Awaited<ReturnType<typeof startOnce>> | undefined
for (let i = 0; i < RUNS; i++) {
  const fresh = await startOnce(true, cwd)
  freshStarts.push(fresh.ms)
  await fresh.stop()
  const warm = await startOnce(false, cwd)
  warmStarts.push(warm.ms)
  if (i < RUNS - 1) await warm.stop()
  else last = warm
}

const listTimes: number[] = []
for (let i = 0; i < RUNS * 2; i++) {
  const t = performance.now()
  execFileSync(process.execPath, [BIN, 'flows', 'list'], { cwd, env: { ...process.env, GREENLIGHT_URL: last?.url } })
  listTimes.push(performance.now() - t)
}
await last?.stop()
rmSync(cwd, { recursive: true, force: true })

console.log(
  JSON.stringify({
    bench: 'startup',
    node: process.version,
    serve_to_readyz_fresh_dir: stats(freshStarts),
    serve_to_readyz_existing_db: stats(warmStarts),
    flows_list_wall: stats(listTimes),
    targets: { readyz_ms: 1500, flows_list_ms: 300 },
  }),
)
