// The console's session cookie and CSRF check: who a request is, and that a POST came from a console form.
import type { Context, MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { AppError } from '../errors.ts'
import type { ConsoleSession, ConsoleSignIn } from './sign-in.ts'
import { SESSION_TTL_MS } from './sign-in.ts'

export const SESSION_COOKIE = 'gl_session'

export type ConsoleEnv = {
  Variables: {
    /** The signed-in session, when the cookie names a live one. */
    session: ConsoleSession | undefined
    sessionSecret: string | undefined
    /** A cookie was sent but names no live session (forged, expired, signed out). */
    staleCookie: boolean
  }
}

export function readSession(signIn: ConsoleSignIn): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const secret = getCookie(c, SESSION_COOKIE)
    const session = secret ? await signIn.session(secret) : undefined
    c.set('session', session)
    c.set('sessionSecret', session ? secret : undefined)
    c.set('staleCookie', secret !== undefined && !session)
    if (secret !== undefined && !session) deleteCookie(c, SESSION_COOKIE, { path: '/ui' })
    await next()
  }
}

export function setSessionCookie(c: Context, secret: string, secure: boolean): void {
  setCookie(c, SESSION_COOKIE, secret, {
    path: '/ui',
    httpOnly: true,
    sameSite: 'Lax',
    secure,
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  })
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/ui' })
}

/** A POST's form fields, after its CSRF token matched the session's; anything else is refused before it acts. */
export async function checkedForm(
  c: Context<ConsoleEnv>,
  signIn: ConsoleSignIn,
): Promise<{ session: ConsoleSession; fields: Record<string, string> }> {
  const session = c.get('session')
  const secret = c.get('sessionSecret')
  if (!session || !secret)
    throw new AppError('signed_out', 'You are not signed in (or your session has expired); nothing was changed.', {
      status: 401,
      hint: "Sign in again with /gl console in Slack or 'greenlight console login'.",
    })
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/x-www-form-urlencoded|^multipart\/form-data/i.test(type))
    throw new AppError('invalid_form', 'Console forms are sent as HTML forms; nothing was changed.', { status: 415 })
  const parsed = await c.req.parseBody()
  const fields: Record<string, string> = {}
  for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') fields[k] = v
  if (!signIn.csrfValid(secret, fields._csrf))
    throw new AppError(
      'csrf_invalid',
      'This form was not sent from your console page (no valid CSRF token); nothing was changed.',
      {
        status: 403,
        hint: 'Reload the page and send the form again.',
      },
    )
  return { session, fields }
}
