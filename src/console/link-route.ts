// POST /api/v1/console/login: a one-time console URL for the calling token's identity (`greenlight console login`).
import { Hono } from 'hono'
import { readAccess } from '../core/scopes.ts'
import { AppError } from '../errors.ts'
import { type ApiEnv, actorOf } from '../http/auth.ts'
import { ok } from '../http/envelope.ts'
import type { ConsoleSignIn } from './sign-in.ts'

export function consoleLinkRoute(signIn: ConsoleSignIn) {
  const app = new Hono<ApiEnv>()
  app.post('/login', async (c) => {
    const principal = c.get('principal')
    if (readAccess(principal.scopes) === 'none')
      throw new AppError(
        'forbidden',
        "The console reads runs or approvals: this token has neither 'runs:read' nor 'approvals:decide'.",
        {
          status: 403,
          hint: "Create a token with '--scope runs:read' (and 'approvals:decide' to vote).",
        },
      )
    const link = await signIn.issueLink({
      actor: actorOf(principal),
      slackUser: principal.asUser,
      tokenId: principal.tokenId,
      tokenName: principal.name,
      scopes: principal.scopes,
    })
    return ok(c, { url: link.url, expires_at: new Date(link.expiresAt).toISOString(), as: actorOf(principal) }, 201)
  })
  return app
}
