// Pages that say one thing: sign in, a link's confirmation, and errors.
import type { Frame } from './layout.tsx'
import { Layout } from './layout.tsx'

export function SignInPage(props: { frame: Frame; reason: string | null }) {
  return (
    <Layout {...props.frame}>
      <h1>Sign in to the Greenlight console</h1>
      {props.reason ? (
        <p class="notice error" role="alert">
          {props.reason}
        </p>
      ) : null}
      <p>The console signs you in with a one-time link, valid for 10 minutes:</p>
      <ul>
        <li>
          In Slack, type <code>/gl console</code>: the link signs you in as yourself.
        </li>
        <li>
          In a terminal, run <code>greenlight console login</code>: the link signs you in as the API token's identity.
        </li>
      </ul>
    </Layout>
  )
}

export function ConfirmSignInPage(props: { frame: Frame; secret: string }) {
  return (
    <Layout {...props.frame}>
      <h1>Sign in to the Greenlight console</h1>
      <p>
        This one-time link signs you in once. Links opened by previews and scanners are not spent: only this button is.
      </p>
      <form method="post" action="/ui/login">
        <input type="hidden" name="link" value={props.secret} />
        <button type="submit" class="primary">
          Sign in
        </button>
      </form>
    </Layout>
  )
}

export function ErrorPage(props: { frame: Frame; code: string; message: string; hint?: string | undefined }) {
  return (
    <Layout {...props.frame}>
      <h1>{props.message}</h1>
      <p class="notice error" role="alert">
        <strong>{props.code}</strong>: {props.message}
        {props.hint ? <span> {props.hint}</span> : null}
      </p>
      <p>
        <a href="/ui/runs">Back to runs</a>
      </p>
    </Layout>
  )
}
