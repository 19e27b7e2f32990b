// The two kinds of database Greenlight runs on, for store tests that must pass on both: an embedded libSQL file
// (native connections) and a real libSQL server (sqld, through @libsql/client over HTTP). `describe.each` over
// `storeTargets` runs one suite body on each.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSqld, type TestSqld } from './sqld.ts'

export interface StoreTarget {
  name: 'file' | 'sqld over http' | 'sqld over ws'
  /** Prepares the target for one suite; `fresh()` then hands out URLs of new, empty databases. */
  start(): Promise<StartedTarget>
}

export interface StartedTarget {
  fresh(): Promise<string>
  stop(): Promise<void>
}

const file: StoreTarget = {
  name: 'file',
  async start() {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-store-'))
    let next = 0
    return {
      fresh: async () => `file:${join(dir, `db-${next++}.db`)}`,
      stop: async () => rmSync(dir, { recursive: true, force: true }),
    }
  },
}

/**
 * One sqld per fresh database: it starts in ~50 ms, and a database per server keeps tests independent. The client
 * speaks Hrana over HTTP for http:// URLs and over WebSockets for ws:// (and libsql://) ones; both are tested.
 */
const sqld = (scheme: 'http' | 'ws'): StoreTarget => ({
  name: `sqld over ${scheme}`,
  async start() {
    const servers: TestSqld[] = []
    return {
      async fresh() {
        const server = await startSqld()
        servers.push(server)
        return `${scheme}://127.0.0.1:${server.port}`
      },
      async stop() {
        await Promise.all(servers.map((server) => server.stop()))
      },
    }
  },
})

export const storeTargets: StoreTarget[] = [file, sqld('http'), sqld('ws')]
