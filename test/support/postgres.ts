// A real, throwaway PostgreSQL cluster for tests: initdb + pg_ctl in a temp dir, loopback port, password auth (scram),
// run as a non-root user when the tests run as root (PostgreSQL refuses to run as root).
import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.ts'

export interface TestPostgres {
  host: string
  port: number
  user: string
  password: string
  database: string
  /** postgres://user@host:port/database, without the password (as a connection stores it). */
  url: string
  /** Runs SQL as the superuser through psql (setup and checks outside the step under test). */
  psql(sql: string): string
  stop(): Promise<void>
}

/** initdb and friends: `pg_config --bindir`, else the newest /usr/lib/postgresql/<n>/bin, else $PATH. */
export function postgresBinDir(): string | undefined {
  const candidates: string[] = []
  try {
    candidates.push(
      execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    )
  } catch {}
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
    candidates.push(...versions.map((v) => join(root, v, 'bin')))
  }
  for (const dir of (process.env.PATH ?? '').split(':')) candidates.push(dir)
  return candidates.find((dir) => dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
}

/** The account PostgreSQL runs as: ourselves, or (as root) `postgres` if the package made it, else `nobody`. */
function runAs(): { user: string | undefined; uid: number; gid: number } {
  if (process.getuid?.() !== 0) return { user: undefined, uid: -1, gid: -1 }
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim())
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim())
      return { user, uid, gid }
    } catch {}
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as')
}

/** Starts the cluster or throws with what went wrong (so the test fails, never skips). */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir()
  if (!bin) {
    throw new Error(
      'PostgreSQL is not installed (no initdb found via pg_config, /usr/lib/postgresql/*/bin or PATH); .ci/run installs the postgresql package',
    )
  }
  const account = runAs()
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-pg-'))
  const data = join(dir, 'data')
  const user = 'greenlight'
  const password = `pg-${Math.random().toString(36).slice(2)}-secret-${Date.now().toString(36)}`
  writeFileSync(join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 })
  if (account.user) {
    chownSync(dir, account.uid, account.gid)
    chownSync(join(dir, 'pwfile'), account.uid, account.gid)
  }
  const run = (tool: string, args: string[], input?: string, env?: Record<string, string>): string => {
    const command = account.user ? 'runuser' : join(bin, tool)
    const argv = account.user ? ['-u', account.user, '--', join(bin, tool), ...args] : args
    try {
      return execFileSync(command, argv, {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
        ...(input === undefined ? {} : { input }),
      })
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string }
      const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : ''
      throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}\n${log}`)
    }
  }
  const port = await freePort()
  run('initdb', [
    '-D',
    data,
    '-U',
    user,
    '--pwfile',
    join(dir, 'pwfile'),
    '--auth',
    'scram-sha-256',
    '-E',
    'UTF8',
    '--no-sync',
  ])
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-w',
    '-t',
    '30',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ])
  const database = 'app'
  // psql authenticates with scram over the socket too; runuser passes the environment on.
  const psql = (sql: string, db = database) =>
    run(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', user, '-d', db, '-At'],
      sql,
      {
        PGPASSWORD: password,
      },
    )
  psql(`CREATE DATABASE ${database};`, 'postgres')
  let stopped = false
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    url: `postgres://${user}@127.0.0.1:${port}/${database}`,
    psql: (sql: string) => psql(sql),
    async stop() {
      if (stopped) return
      stopped = true
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
