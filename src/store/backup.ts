// `greenlight backup`: a consistent copy of the running server's embedded database, by `VACUUM INTO` on a connection
// of its own in a worker thread. In WAL mode that connection reads one snapshot while the server goes on writing, and
// the server's event loop is not held while the copy is written.
import { existsSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, isAbsolute } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Backups } from '../engine/retention.ts'
import { AppError } from '../errors.ts'

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

export function createBackups(databaseUrl: string, now: () => number = Date.now): Backups {
  return {
    async backup(path) {
      const source = embeddedPath(databaseUrl)
      if (source === undefined) {
        throw new AppError(
          'backup_unsupported',
          'This server uses a remote libSQL server: its data is not a file here.',
          {
            status: 409,
            hint: "Back it up where it lives: sqld's own snapshots (or a copy of its data directory taken while it is stopped), or the hosting service's point-in-time restore.",
          },
        )
      }
      if (!isAbsolute(path) || path.includes('\u0000'))
        throw new AppError('invalid_path', `'${path}' is not an absolute path.`, { status: 400 })
      if (existsSync(path))
        throw new AppError('backup_exists', `${path} exists already; a backup never overwrites a file.`, {
          status: 409,
          hint: 'Name a new file, or move the old one away.',
        })
      if (!existsSync(dirname(path)))
        throw new AppError('invalid_path', `The directory ${dirname(path)} does not exist on the server.`, {
          status: 400,
          hint: 'The server writes the backup: name a directory on its machine that it can write.',
        })
      const started = now()
      await vacuumInto(source, path)
      return { path, bytes: statSync(path).size, duration_ms: now() - started }
    },
  }
}
