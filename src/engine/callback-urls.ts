// An operator reads an open wait's callback URL outside the flow (to hand it to an agent by hand); every read is
// recorded in the run's events, since whoever holds the URL can complete the wait.
import { AppError, notFound } from '../errors.ts'
import { type Actor, credentialData } from './authorization.ts'
import type { EngineDeps } from './engine-deps.ts'
import type { WaitRecord } from './run-ports.ts'
import { callbackUrl } from './scope.ts'

/** The kinds a flow hands out `{{ callbacks.<step>.url }}` for. */
const CALLBACK_KINDS: ReadonlySet<string> = new Set(['wait', 'job'])

type Read = { type: 'ok'; wait: WaitRecord; url: string } | { type: 'refused'; error: AppError }

function refusal(wait: WaitRecord): AppError | undefined {
  if (!CALLBACK_KINDS.has(wait.kind)) {
    const how =
      wait.kind === 'approval'
        ? `vote with 'greenlight waits approve ${wait.id}'`
        : wait.kind === 'input'
          ? `fill it in with 'greenlight waits complete ${wait.id} --payload '{…}''`
          : 'it ends by itself'
    return new AppError(
      'no_callback_url',
      `'${wait.id}' is ${wait.kind === 'input' ? 'an' : 'a'} ${wait.kind}: only waits and jobs have a callback URL.`,
      {
        status: 409,
        hint: `Instead, ${how}.`,
        details: { wait_id: wait.id, kind: wait.kind },
      },
    )
  }
  if (wait.status !== 'open') {
    return new AppError(
      'wait_closed',
      `This ${wait.kind} is already ${wait.status}; its callback URL takes nothing more.`,
      {
        status: 409,
        hint: `Run 'greenlight runs show ${wait.runId}'.`,
        details: { wait_id: wait.id, status: wait.status },
      },
    )
  }
  return undefined
}

export function createCallbackUrls(deps: EngineDeps) {
  return {
    /**
     * The URL of an open wait or job, exactly as `{{ callbacks.<step>.url }}` built it for that visit, for an admin
     * token only; the read and the event that records it are one transaction, so no read goes unrecorded.
     */
    async urlFor(waitId: string, actor: Actor): Promise<{ wait: WaitRecord; url: string }> {
      if (actor.adminToken !== true) {
        throw new AppError('forbidden', "Reading a callback URL needs a token with the 'admin' scope.", {
          status: 403,
          hint: "Create a token with '--scope admin'.",
          details: { required_scope: 'admin' },
        })
      }
      const { result, commit } = await deps.store.transact<Read>(async (view) => {
        const refused = (error: AppError) => ({ transition: null, result: { type: 'refused', error } as const })
        const wait = await view.getWait(waitId)
        if (!wait)
          return refused(
            notFound('wait_not_found', `No wait with id '${waitId}'.`, { hint: "Run 'greenlight waits list'." }),
          )
        const error = refusal(wait)
        if (error) return refused(error)
        // Read the run in the transaction too: the store chains the new event onto the head it read.
        if (!(await view.getRun(wait.runId))) return refused(notFound('run_not_found', 'The run of this wait is gone.'))
        const url = callbackUrl(deps.publicUrl(), deps.secretKey, wait.runId, wait.stepId, wait.visit)
        return {
          transition: {
            runId: wait.runId,
            at: deps.clock.now(),
            events: [
              {
                type: 'callback_url.read',
                stepId: wait.stepId,
                actor: actor.id,
                data: { wait_id: wait.id, ...credentialData(actor) },
              },
            ],
          },
          result: { type: 'ok', wait, url },
        }
      })
      if (result.type === 'refused') throw result.error
      if (!commit?.ok) throw new AppError('wait_closed', 'The wait closed while its URL was read.', { status: 409 })
      deps.onRunChange?.(result.wait.runId)
      return { wait: result.wait, url: result.url }
    },
  }
}

export type CallbackUrls = ReturnType<typeof createCallbackUrls>
