// Webhook intake for POST /hooks/:slug: the live version's webhook trigger authenticates the raw body, maps it to
// run inputs, and starts one run per dedupe key and signed message through the normal start path (pinned,
// concurrency, input checks).
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import {
  type CompiledValue,
  compileTemplate,
  compileValue,
  interpolate,
  type WebhookTrigger,
} from '../core/flow/index.ts'
import { verifyBearer, verifyHmac, type WebhookAuthResult } from '../core/webhook-auth.ts'
import { AppError, notFound } from '../errors.ts'
import type { CompiledFlow } from './compiled-flow.ts'
import type { Clock, FlowRepository } from './ports.ts'
import type { RefusedStarts } from './refused-starts.ts'
import type { RunRecord, TriggerClaim } from './run-ports.ts'
import type { Runs, StartInput } from './runs.ts'

export interface WebhookRequest {
  raw: Buffer
  contentType: string | undefined
  /** Lower-cased names. */
  headers: Record<string, string>
  query: Record<string, string>
}

/** A flow's live webhook trigger, with its templates compiled. */
export interface WebhookTarget {
  slug: string
  trigger: WebhookTrigger
  inputs: CompiledValue
  dedupe: ReturnType<typeof compileTemplate> | undefined
}

export interface WebhooksDeps {
  flows: FlowRepository
  flowOf(revisionId: number): Promise<CompiledFlow>
  runs: Runs & RefusedStarts
  secrets: { reveal(name: string): Promise<string> }
  clock: Clock
  logger: Logger
}

/** Dedupe keys longer than this are stored as their sha256. */
const MAX_KEY_CHARS = 200

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

function notFoundHook(slug: string): AppError {
  // The same answer for an unknown flow and a flow without a (live) webhook: the route reveals nothing more.
  return notFound('not_found', `No webhook at /hooks/${slug}.`, {
    hint: 'The flow must exist and its live version must list triggers.webhook.',
  })
}

function unauthorized(trigger: WebhookTrigger, reason: string): AppError {
  const hint =
    trigger.auth === 'bearer'
      ? 'Send Authorization: Bearer <token>, the value of the secret the flow names.'
      : 'Sign the raw body: X-Greenlight-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, ' +
        "or set the GitHub webhook's secret. See docs/triggers.md."
  return new AppError('invalid_signature', 'The request is not signed with the webhook secret.', {
    status: 401,
    hint,
    details: { reason },
  })
}

function invalidInputs(message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('invalid_inputs', message, {
    status: 422,
    hint: "Check the flow's triggers.webhook.inputs and dedupe against this body; nothing was started.",
    details,
  })
}

/** Credentials never reach templates, so no mapping can copy them into run inputs and events. */
const HIDDEN_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie'])

function visibleHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HIDDEN_HEADERS.has(name)))
}

export function createWebhooks(deps: WebhooksDeps) {
  const { flows, clock, logger } = deps
  const compiled = new Map<number, WebhookTarget | null>()

  /** The live webhook of a flow; 404 when the flow is unknown, not released, or has no webhook trigger. */
  async function find(slug: string): Promise<WebhookTarget> {
    const flow = await flows.get(slug)
    const revision =
      flow && flow.liveVersion !== null ? await flows.revisionByVersion(slug, flow.liveVersion) : undefined
    if (!revision) throw notFoundHook(slug)
    let target = compiled.get(revision.id)
    if (target === undefined) {
      const trigger = (await deps.flowOf(revision.id)).definition.triggers?.webhook
      // Templates were compiled when the flow was validated; they compile again here once per revision.
      target = trigger
        ? {
            slug,
            trigger,
            inputs: compileValue(trigger.inputs ?? {}),
            dedupe: trigger.dedupe === undefined ? undefined : compileTemplate(trigger.dedupe),
          }
        : null
      compiled.set(revision.id, target)
    }
    if (!target) throw notFoundHook(slug)
    return target
  }

  async function authenticate(target: WebhookTarget, request: WebhookRequest): Promise<WebhookAuthResult> {
    let secret: string
    try {
      secret = await deps.secrets.reveal(target.trigger.secret)
    } catch (error) {
      // The sender cannot fix this; the operator must. Answer as for a bad signature, and say why in the log.
      logger.error(
        { flow: target.slug, secret: target.trigger.secret, code: error instanceof AppError ? error.code : undefined },
        "webhook secret is missing or unreadable; set it with 'greenlight secrets set'",
      )
      return { ok: false, reason: 'bad_signature' }
    }
    return target.trigger.auth === 'bearer'
      ? verifyBearer(secret, request)
      : verifyHmac(secret, { raw: request.raw, headers: request.headers, now: clock.now() })
  }

  async function evaluate<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      if (error instanceof AppError) throw invalidInputs(`${what}: ${error.message}`, { code: error.code })
      throw error
    }
  }

  async function dedupeKey(target: WebhookTarget, scope: Record<string, unknown>): Promise<string | undefined> {
    if (!target.dedupe) return undefined
    const dedupe = target.dedupe
    const value = interpolate(await evaluate('dedupe', () => dedupe.evaluate(scope)))
    if (value === '') {
      throw invalidInputs('The dedupe expression found no value in this request.', {
        dedupe: target.trigger.dedupe,
      })
    }
    return value.length > MAX_KEY_CHARS ? `sha256:${createHash('sha256').update(value).digest('hex')}` : value
  }

  /**
   * Authenticates, maps and starts; every refusal is an AppError (401, 409, 415, 422) and starts nothing, except
   * unbound requires (422 requirements_missing), which leave a failed run named in the error's details.
   */
  async function receive(target: WebhookTarget, request: WebhookRequest): Promise<RunRecord> {
    if (!JSON_TYPE.test(request.contentType ?? '')) {
      throw new AppError('unsupported_media_type', 'The body must be JSON.', {
        status: 415,
        hint: 'Send content-type: application/json (in GitHub: Content type application/json).',
      })
    }
    const auth = await authenticate(target, request)
    if (!auth.ok) {
      logger.warn({ flow: target.slug, reason: auth.reason }, 'webhook refused: not signed with its secret')
      throw unauthorized(target.trigger, auth.reason)
    }
    let body: unknown
    try {
      body = JSON.parse(request.raw.toString('utf8'))
    } catch {
      throw new AppError('unsupported_media_type', 'The body is not valid JSON.', {
        status: 415,
        hint: 'Send a JSON document.',
      })
    }
    const scope = { body, headers: visibleHeaders(request.headers), query: request.query }
    const mapped = (await evaluate('inputs', () => target.inputs.evaluate(scope))) as Record<string, unknown>
    // A path the body does not have yields nothing: the input is left out, so its default or `required` applies.
    const inputs = Object.fromEntries(Object.entries(mapped).filter(([, v]) => v !== undefined))
    const key = await dedupeKey(target, scope)
    // The dedupe value comes from unsigned headers, so a captured request replays under a fresh one; the signed
    // message itself is remembered too. A bearer token signs nothing, so there is no message to remember.
    const signed = auth.scheme === 'bearer' ? undefined : auth.signed
    const claim: TriggerClaim | undefined =
      key === undefined && signed === undefined
        ? undefined
        : {
            kind: 'webhook_delivery',
            ...(key === undefined ? {} : { dedupeKey: key }),
            ...(signed === undefined
              ? {}
              : { signed: { fingerprint: signed.fingerprint, windowMs: signed.replayWindowMs } }),
          }
    const input: StartInput = {
      slug: target.slug,
      inputs,
      initiator: `webhook:${target.slug}`,
      trigger: 'webhook',
      slack: null,
      ...(claim === undefined ? {} : { claim }),
      triggerDetails: { auth: auth.scheme, ...(key === undefined ? {} : { dedupe_key: key }) },
    }
    try {
      return await deps.runs.start(input)
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'requirements_missing') throw error
      // The delivery is a run that failed before its first step; the sender still hears that it did not run.
      const failed = await deps.runs.failStart(input, error)
      logger.warn({ flow: target.slug, run: failed.id, code: error.code }, error.message)
      throw new AppError(error.code, `${error.message} Run ${failed.id} failed before its first step.`, {
        status: error.status,
        hint: `Bind what is missing ('greenlight connections set …'), then 'greenlight runs retry ${failed.id}'.`,
        details: { ...error.details, run_id: failed.id },
      })
    }
  }

  return { find, receive }
}

export type Webhooks = ReturnType<typeof createWebhooks>
