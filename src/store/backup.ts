// `greenlight backup`: a consistent copy of the running server's embedded database, by `VACUUM INTO` on a connection
// of its own in a worker thread. In WAL mode that connection reads one snapshot while the server goes on writing, and
// the server's event loop is not held while the copy is written. The copy is a temporary file in the data directory
// that the API streams to the CLI and then deletes: the server writes no file anywhere else.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Backups } from '../engine/retention.ts'
import { AppError, conflict } from '../errors.ts'

const WORKER = `
const { workerData, parentPort } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.source, { timeout: 10000 })
try {
  db.prepare('VACUUM INTO ?').run([workerData.target])
  parentPort.postMessage({ ok: true })
} catch (error) {
  parentPort.postMessage({ ok: false, message: String(error && error.message || error) })
} finally {
  db.close()
}
`

function vacuumInto(source: string, target: string): Promise<void> {
  const driver = createRequire(import.meta.url).resolve('libsql')
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { driver, source, target } })
    worker.once('message', (m: { ok: boolean; message?: string }) => {
      if (m.ok) resolve()
      else
        reject(
          new AppError('backup_failed', `The backup could not be written: ${m.message}`, {
            status: 500,
            hint: 'Check the free space and permissions where it is written.',
          }),
        )
    })
    worker.once('error', reject)
    worker.once('exit', (code) => {
      if (code !== 0) reject(new AppError('backup_failed', `The backup worker exited with ${code}.`, { status: 500 }))
    })
  })
}

/** The embedded file a `file:` URL names; undefined for a remote server or memory. */
function embeddedPath(databaseUrl: string): string | undefined {
  if (!databaseUrl.startsWith('file:')) return undefined
  const path = databaseUrl
    .slice('file:'.length)
    .replace(/\?.*$/, '')
    .replace(/^\/\/(?=\/)/, '')
  return path === '' || path === ':memory:' ? undefined : path
}

/** Copies a crashed server left behind: an hour old is far older than any backup in flight from another instance. */
function removeStale(dir: string, now: number): void {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return
  }
  for (const name of names) {
    const path = join(dir, name)
    if (name.startsWith('.backup-') && statSync(path).mtimeMs < now - 3_600_000) rmSync(path, { force: true })
  }
}

export function createBackups(databaseUrl: string, dataDir: string, now: () => number = Date.now): Backups {
  removeStale(join(dataDir, 'backups'), now())
  return {
    async backup() {
      const source = embeddedPath(databaseUrl)
      if (source === undefined) {
        throw conflict('backup_unsupported', 'This server uses a remote libSQL server: its data is not a file here.', {
          hint: "Back it up where it lives: sqld's own snapshots (or a copy of its data directory taken while it is stopped), or the hosting service's point-in-time restore.",
        })
      }
      // Written beside the database (same disk, the server's own directory), sent, then deleted.
      const dir = join(dataDir, 'backups')
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      const path = join(dir, `.backup-${now()}-${randomBytes(6).toString('hex')}.db`)
      const started = now()
      try {
        await vacuumInto(source, path)
      } catch (error) {
        rmSync(path, { force: true })
        throw error
      }
      return {
        path,
        bytes: statSync(path).size,
        duration_ms: now() - started,
        discard: () => rmSync(path, { force: true }),
      }
    },
  }
}
