// API helpers the engine tests share: push and release a flow, read a run and its events, poll until a state.
import { expect } from 'vitest'
import { api } from './server.ts'

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of the API's JSON documents
export type Json = any
export type ApiServer = { url: string; token: string }

export async function pushRelease(server: ApiServer, source: string): Promise<void> {
  const pushed = await api(server, 'POST', '/api/v1/flows', { source })
  expect(pushed.status, JSON.stringify(pushed.body)).toBeLessThan(300)
  const slug = (pushed.body.data as Json).push.slug
  const released = await api(server, 'POST', `/api/v1/flows/${slug}/release`, {})
  expect(released.status, JSON.stringify(released.body)).toBe(201)
}

export async function showRun(server: ApiServer, id: string): Promise<Json> {
  const shown = await api(server, 'GET', `/api/v1/runs/${id}`)
  expect(shown.status, JSON.stringify(shown.body)).toBe(200)
  return shown.body.data
}

export async function runEvents(server: ApiServer, id: string): Promise<Json[]> {
  const res = await api(server, 'GET', `/api/v1/runs/${id}/events`)
  expect(res.status).toBe(200)
  return (res.body.data as Json).events
}

/** Polls until `check` returns something other than undefined; errors it throws end the wait at once. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string | (() => string),
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export async function runReaches(server: ApiServer, id: string, statuses: string[], timeoutMs = 15_000): Promise<Json> {
  let seen = ''
  return eventually(
    async () => {
      const shown = await showRun(server, id)
      seen = shown.run.status
      return statuses.includes(shown.run.status) ? shown : undefined
    },
    () => `run ${id} to reach ${statuses.join('|')} (last: ${seen})`,
    timeoutMs,
  )
}
