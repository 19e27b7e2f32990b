// Bearer-token authentication and scope checks for /api/v1.
import type { MiddlewareHandler } from 'hono'
import { hasScope, type ReadAccess, readAccess, type Scope } from '../core/scopes.ts'
import type { Actor, Credential } from '../engine/authorization.ts'
import type { Principal, Tokens } from '../engine/tokens.ts'
import { AppError } from '../errors.ts'

export type ApiEnv = { Variables: { principal: Principal } }

export function authenticate(tokens: Tokens): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    const principal = match?.[1] ? await tokens.authenticate(match[1]) : undefined
    if (!principal) {
      throw new AppError(
        'unauthorized',
        header ? 'The API token is invalid or revoked.' : 'An API token is required.',
        {
          status: 401,
          hint: "Send 'Authorization: Bearer <token>'; 'greenlight serve' writes a local admin token to data/cli-token.",
        },
      )
    }
    c.set('principal', principal)
    await next()
  }
}

function lacks(principal: Principal, scope: Scope, what?: string): AppError {
  return new AppError('forbidden', what ?? `This token lacks the '${scope}' scope.`, {
    status: 403,
    hint: `Create a token with '--scope ${scope}'.`,
    details: { required_scope: scope, token_scopes: principal.scopes },
  })
}

export function requireScope(scope: Scope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const principal = c.get('principal')
    if (!hasScope(principal.scopes, scope)) throw lacks(principal, scope)
    await next()
  }
}

/**
 * For the reads a voter needs (an approval, its run, what it shows): runs:read, or approvals:decide, in which case
 * the route asks `readAccessOf` and checks the object itself (see core/scopes.ts readAccess).
 */
export function requireRunsReadOrDecide(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const principal = c.get('principal')
    if (readAccess(principal.scopes) === 'none') throw lacks(principal, 'runs:read')
    await next()
  }
}

export function readAccessOf(principal: Principal): ReadAccess {
  return readAccess(principal.scopes)
}

/** The refusal of a read outside what approvals:decide admits. */
export function notAnApprovalRead(principal: Principal, what: string): AppError {
  return lacks(
    principal,
    'runs:read',
    `This token has approvals:decide, which reads approvals, their runs and what they show; ${what} needs 'runs:read'.`,
  )
}

/** Who an API action is attributed to in records: the Slack user a token acts as, else the token's name. */
export function actorOf(principal: Principal): string {
  return principal.asUser ?? `token:${principal.name}`
}

/** Who a request acts as, for the engine's permission checks: the `--as` user if any, and whether it is an admin. */
export function requesterOf(principal: Principal): Actor {
  return {
    id: actorOf(principal),
    user: principal.asUser,
    adminToken: principal.scopes.includes('admin'),
    credential: credentialOf(principal),
  }
}

/** The token itself, as votes and run events record it beside the person it acts as. */
export function credentialOf(principal: Principal): Credential {
  return { id: principal.tokenId, name: principal.name }
}
