// Shared shapes and argument helpers for the Web API method handlers.

import type { Directory } from './directory.ts'
import type { Store } from './store.ts'

export type Params = Record<string, unknown>
export type ApiResult = Record<string, unknown>

export interface FakeConfig {
  botUserId: string
  botId: string
  appId: string
  /** Exact tokens to accept; when absent any `xoxb-`/`xoxp-` (bot) or `xapp-` (app) token is accepted. */
  tokens: { bot?: string; app?: string }
  triggerTtlMs: number
  responseUrlTtlMs: number
  responseUrlMaxUses: number
  messageBlocksMaxChars: number
}

export interface ApiContext {
  store: Store
  dir: Directory
  config: FakeConfig
  now: () => number
  /** `http://127.0.0.1:PORT`, for URLs the fake hands out (uploads, sockets). */
  baseUrl: string
  /** Issues a one-time Socket Mode URL (`ws://127.0.0.1:PORT/socket?ticket=…`). */
  issueSocketUrl: () => string
}

export type Handler = (params: Params, ctx: ApiContext) => ApiResult

export const fail = (error: string, extra: Record<string, unknown> = {}): ApiResult => ({ ok: false, error, ...extra })

export function str(params: Params, key: string): string | undefined {
  const value = params[key]
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  return undefined
}

export function bool(params: Params, key: string): boolean {
  const value = params[key]
  return value === true || value === 'true' || value === '1' || value === 1
}

export function int(params: Params, key: string): number | undefined {
  const value = Number(params[key])
  return params[key] === undefined || Number.isNaN(value) ? undefined : value
}
