// Console sessions for tests: a one-time link from the API, redeemed like a browser does, and page/form helpers.
import { api, type TestServer } from './server.ts'

export interface ConsolePage {
  status: number
  html: string
  headers: Headers
}

/** A one-time console URL for `token`'s identity (what `greenlight console login` prints). */
export async function consoleLink(server: TestServer, token = server.token): Promise<string> {
  const made = await api(server, 'POST', '/api/v1/console/login', {}, token)
  if (made.status !== 201) throw new Error(`no console link: ${JSON.stringify(made.body)}`)
  return (made.body.data as { url: string }).url
}

/** Posts the link's secret as the sign-in button does; returns the raw answer. */
export function redeem(server: { url: string }, link: string): Promise<Response> {
  const secret = link.slice(link.lastIndexOf('/') + 1)
  return fetch(`${server.url}/ui/login`, {
    method: 'POST',
    body: new URLSearchParams({ link: secret }),
    redirect: 'manual',
  })
}

/** Signs in with a fresh link and returns the session cookie (`gl_session=…`). */
export async function consoleCookie(server: TestServer, token = server.token): Promise<string> {
  const answer = await redeem(server, await consoleLink(server, token))
  const cookie = answer.headers
    .getSetCookie()
    .find((c) => c.startsWith('gl_session='))
    ?.split(';')[0]
  if (answer.status !== 303 || !cookie) throw new Error(`sign-in failed: ${answer.status} ${await answer.text()}`)
  return cookie
}

export async function getPage(server: { url: string }, path: string, cookie?: string): Promise<ConsolePage> {
  const answer = await fetch(`${server.url}${path}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' })
  return { status: answer.status, html: await answer.text(), headers: answer.headers }
}

export async function postForm(
  server: { url: string },
  path: string,
  fields: Record<string, string>,
  cookie?: string,
): Promise<ConsolePage> {
  const answer = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: cookie ? { cookie } : {},
    body: new URLSearchParams(fields),
    redirect: 'manual',
  })
  return { status: answer.status, html: await answer.text(), headers: answer.headers }
}

/** The CSRF token of the page's forms. */
export function csrfOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1]
  if (!token) throw new Error('no CSRF token on the page')
  return token
}
