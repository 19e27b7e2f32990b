// What a token handed to a coding agent may hold: it may ask for approvals, never give them.
import type { Scope } from './scopes.ts'

/** The scopes `tokens create --for-agent` grants: read and push flows, start and read runs, complete waits. */
export const AGENT_SCOPES: readonly Scope[] = ['flows:read', 'flows:write', 'runs:read', 'runs:write']

/** Scopes that decide approvals, or mint a token that does (admin); the agent that asks must hold neither. */
const DECIDING: readonly string[] = ['approvals:decide', 'admin']

export function decidingScopes(scopes: readonly string[]): string[] {
  return scopes.filter((scope) => DECIDING.includes(scope))
}
