// examples/deploy/ as operators copy it: the systemd unit verifies and the Dockerfile has what a service needs, and
// both start the server the way a process manager must (node itself, SIGTERM, a stop timeout above the drain).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, spawnServe, stopChild } from '../support/cli.ts'

const DEPLOY = join(ROOT, 'examples', 'deploy')
const UNIT = join(DEPLOY, 'greenlight.service')
const DOCKERFILE = join(DEPLOY, 'Dockerfile')

/** The unit's sections as key → values (a key may repeat, as Environment= does). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>()
  let current: Map<string, string[]> | undefined
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const section = /^\[(.+)\]$/.exec(line)
    if (section) {
      current = new Map()
      sections.set(section[1] ?? '', current)
      continue
    }
    const eq = line.indexOf('=')
    expect(current, `key outside a section: ${line}`).toBeDefined()
    expect(eq, `not key=value: ${line}`).toBeGreaterThan(0)
    const key = line.slice(0, eq)
    current?.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)])
  }
  return sections
}

/** Dockerfile instructions in order, continuation lines joined. */
function parseDockerfile(text: string): { instruction: string; args: string }[] {
  const joined = text.replace(/\\\n/g, ' ')
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [instruction = '', ...rest] = l.split(/\s+/)
      return { instruction: instruction.toUpperCase(), args: rest.join(' ') }
    })
}

const systemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0

describe('examples/deploy', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it(`greenlight.service passes ${systemdAnalyze ? 'systemd-analyze verify' : 'a structural check (systemd-analyze is not installed)'} and runs serve as a service`, () => {
    const unit = parseUnit(readFileSync(UNIT, 'utf8'))
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install'])
    const service = unit.get('Service') as Map<string, string[]>
    const one = (key: string) => {
      const values = service.get(key) ?? []
      expect(values, key).toHaveLength(1)
      return values[0] as string
    }
    // node itself, not npm or a shell, so SIGTERM reaches the server and MAINPID is its pid.
    expect(one('ExecStart')).toMatch(/^\/\S*node .*\/bin\/greenlight\.mjs serve$/)
    expect(one('Type')).toBe('simple')
    expect(one('User')).not.toMatch(/^(root|0)$/)
    expect(one('KillSignal')).toBe('SIGTERM')
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThan(10) // the default GREENLIGHT_SHUTDOWN_TIMEOUT_MS is 10 s
    expect(one('Restart')).toBe('on-failure')
    expect(service.get('Environment')).toContain('GREENLIGHT_DATA_DIR=/var/lib/greenlight')
    expect(one('StateDirectory')).toBe('greenlight')
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target'])
    if (!systemdAnalyze) return
    // verify exits 0 on unknown keys and unparsable values, and says so on stderr: both must be clean.
    const verified = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' })
    const complaints = `${verified.stdout}${verified.stderr}`
      .split('\n')
      .filter((l) => l.trim() !== '')
      // Where node lives elsewhere than in the unit (a dev machine), only that line may complain.
      .filter((l) => existsSync('/usr/bin/node') || !l.includes('/usr/bin/node is not executable'))
    expect(complaints).toEqual([])
    if (existsSync('/usr/bin/node')) expect(verified.status).toBe(0)
  })

  it('Dockerfile passes a structural check (docker is not available here): node 20 slim, npm ci --omit=dev, non-root, a data volume, a /healthz healthcheck, CMD greenlight serve', () => {
    const steps = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'))
    const all = (instruction: string) => steps.filter((s) => s.instruction === instruction).map((s) => s.args)
    expect(all('FROM')).toEqual(['node:20-slim'])
    expect(all('RUN').some((r) => r.includes('npm ci --omit=dev'))).toBe(true)
    const users = all('USER')
    expect(users.length).toBeGreaterThan(0)
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/)
    // USER comes before CMD, so the server never runs as root.
    expect(steps.findLastIndex((s) => s.instruction === 'USER')).toBeLessThan(
      steps.findIndex((s) => s.instruction === 'CMD'),
    )
    expect(all('VOLUME').join(' ')).toContain('/data')
    expect(all('ENV').join(' ')).toContain('GREENLIGHT_DATA_DIR=/data')
    expect(all('HEALTHCHECK').join(' ')).toContain('/healthz')
    expect(all('STOPSIGNAL')).toEqual(['SIGTERM'])
    // Exec form, node as PID 1: docker stop's SIGTERM reaches the server itself.
    expect(JSON.parse(all('CMD').at(-1) ?? 'null')).toEqual(['node', 'bin/greenlight.mjs', 'serve'])
    // Everything it copies exists in the repository (a renamed folder would break the build).
    for (const copy of all('COPY')) {
      const sources = copy.split(/\s+/).slice(0, -1)
      for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true)
    }
  })

  it("the Dockerfile's HEALTHCHECK command passes against a running server and fails once it stopped", async () => {
    const steps = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'))
    const healthcheck = steps.find((s) => s.instruction === 'HEALTHCHECK')?.args ?? ''
    const command = healthcheck.slice(healthcheck.indexOf('CMD ') + 'CMD '.length)
    const cwd = mkdtempSync(join(tmpdir(), 'greenlight-deploy-'))
    dirs.push(cwd)
    const { child, url } = await spawnServe({ cwd, env: { PORT: '0' } })
    const port = new URL(url).port
    const check = () =>
      spawnSync('sh', ['-c', command], { env: { PATH: process.env.PATH, PORT: port }, timeout: 10_000 }).status
    try {
      expect(check()).toBe(0)
    } finally {
      await stopChild(child)
    }
    expect(check()).toBe(1)
  })
})
