// What a token handed to a coding agent may hold: it may ask for approvals, never give them.
import { AppError } from '../errors.ts'
import type { Scope } from './scopes.ts'

/** The scopes `tokens create --for-agent` grants: read and push flows, start and read runs, complete waits. */
export const AGENT_SCOPES: readonly Scope[] = ['flows:read', 'flows:write', 'runs:read', 'runs:write']

/** Scopes that decide approvals, or mint a token that does (admin); the agent that asks must hold neither. */
const DECIDING: readonly string[] = ['approvals:decide', 'admin']

export function decidingScopes(scopes: readonly string[]): string[] {
  return scopes.filter((scope) => DECIDING.includes(scope))
}

/**
 * Refuses a token that may decide approvals where an agent asks (MCP, approval requests): the agent that asks is
 * never the one that answers, nor can it mint a token that would.
 */
export function decidingTokenError(scopes: readonly string[]): AppError | undefined {
  const deciding = decidingScopes(scopes)
  if (deciding.length === 0) return undefined
  return new AppError(
    'token_can_decide',
    `This token has ${deciding.join(' and ')}: a token that asks for approvals must not be able to answer them.`,
    {
      status: 403,
      hint: "Give the agent a token from 'greenlight tokens create --name <agent> --for-agent'.",
      details: { refused_scopes: deciding },
    },
  )
}
