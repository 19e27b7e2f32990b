// /callbacks/:token: remote agents complete, heartbeat, fail and inspect their wait. Tokens never reach the logs.
import { type Context, Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { verifyCallbackToken } from '../core/callback-token.ts'
import { parseDuration } from '../core/flow/index.ts'
import type { JsonErrorAt } from '../core/json-error-at.ts'
import type { CallbackOutcome } from '../engine/callbacks.ts'
import type { Engine } from '../engine/engine.ts'
import { AppError } from '../errors.ts'
import { decodeUtf8, parseBoundedJson, readCapped } from './read-body.ts'

const NOT_FOUND = new AppError('not_found', 'No such callback.', { status: 404 })

const STATUS: Record<CallbackOutcome['type'], ContentfulStatusCode> = {
  accepted: 202,
  duplicate: 200,
  already_completed: 409,
  not_found: 404,
  expired: 410,
  invalid_payload: 422,
  not_started: 409,
  ended: 409,
}

function answer(c: Context, outcome: CallbackOutcome): Response {
  switch (outcome.type) {
    case 'accepted':
      return c.json(
        {
          ok: true,
          data: {
            status: 'accepted',
            run_id: outcome.runId,
            step: outcome.step,
            early: outcome.early,
            run: { id: outcome.runId, status: outcome.runStatus },
          },
        },
        202,
      )
    case 'duplicate':
      return c.json({ ok: true, data: { status: 'duplicate', run_id: outcome.runId, step: outcome.step } }, 200)
    case 'already_completed':
      throw new AppError('already_completed', 'This wait was completed with a different body.', {
        status: STATUS.already_completed,
      })
    case 'not_found':
      throw NOT_FOUND
    case 'expired':
      throw new AppError('expired', 'This wait is no longer open (it timed out, failed, or the run ended).', {
        status: 410,
      })
    case 'invalid_payload':
      throw new AppError('invalid_payload', "The body does not match the wait's schema; the wait stays open.", {
        status: 422,
        details: { problems: outcome.problems },
      })
    case 'not_started':
      throw new AppError('not_started', 'This wait has not started yet; nothing changed.', {
        status: STATUS.not_started,
        hint: 'Heartbeats and failures count once the wait step opens (GET this URL shows its state).',
      })
    case 'ended':
      throw new AppError('wait_ended', `This wait already ended (${outcome.status}); nothing changed.`, {
        status: STATUS.ended,
        details: { status: outcome.status },
      })
  }
}

/** The body as JSON: streamed up to the limit, strict UTF-8, bounded depth; not JSON → 415 with the parser's words. */
async function readJsonBody(c: Context, maxBytes: number): Promise<{ raw: Buffer; value: unknown }> {
  const raw = await readCapped(c, maxBytes)
  return { raw, value: parseBoundedJson(decodeUtf8(raw), notJson) }
}

/** Not JSON: 415 with the parser's words and where it stopped; the content type is never the problem. */
function notJson(message: string, at: JsonErrorAt | undefined): AppError {
  return new AppError('unsupported_media_type', `The body is not JSON: ${message}`, {
    status: 415,
    hint: 'Send a JSON document (any content type is accepted): fix the text at the line and column named.',
    details: at ? { ...at } : {},
  })
}

export function callbackRoutes(engine: Engine, key: Buffer, maxBodyBytes: number) {
  const app = new Hono()
  // A heartbeat or a failure reason is a few fields; it never needs more, nor more than the configured limit.
  const smallBodyBytes = Math.min(maxBodyBytes, 64 * 1024)
  /** A body refused for its form, sent to a token with no wait behind it, answers the same 404 as a forged token. */
  const unlessUnknown = async <T>(t: ReturnType<typeof target>, reading: Promise<T>): Promise<T> => {
    try {
      return await reading
    } catch (error) {
      if (error instanceof AppError && error.status !== 413 && !(await engine.callbacks.state(t))) throw NOT_FOUND
      throw error
    }
  }
  const target = (c: Context) => {
    const found = verifyCallbackToken(key, c.req.param('token') ?? '')
    if (!found) throw NOT_FOUND
    return found
  }

  app.post('/:token', async (c) => {
    const t = target(c)
    const { raw, value } = await unlessUnknown(t, readJsonBody(c, maxBodyBytes))
    return answer(c, await engine.callbacks.complete(t, value, raw, 'callback'))
  })

  app.post('/:token/heartbeat', async (c) => {
    const t = target(c)
    const text = await unlessUnknown(
      t,
      readCapped(c, smallBodyBytes).then((raw) => decodeUtf8(raw)),
    )
    let body: Record<string, unknown> = {}
    if (text.trim() !== '') {
      const parsed = parseBoundedJson(text, notJson)
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new AppError(
          'unsupported_media_type',
          'The body must be a JSON object: {"progress": "…", "extend": "30m"}.',
          { status: 415 },
        )
      body = parsed as Record<string, unknown>
    }
    // A malformed field is refused, not ignored: an agent that asked for more time must know it did not get it.
    if (body.extend !== undefined && (typeof body.extend !== 'string' || parseDuration(body.extend) === undefined)) {
      throw new AppError('invalid_extend', `'extend' must be a duration such as "30m" or "2h".`, { status: 422 })
    }
    if (body.progress !== undefined && typeof body.progress !== 'string') {
      throw new AppError('invalid_progress', "'progress' must be a string.", { status: 422 })
    }
    const result = await engine.callbacks.heartbeat(t, body)
    if (result.type === 'ok')
      return c.json({
        ok: true,
        data: {
          status: 'alive',
          deadline_at: result.deadlineAt === null ? null : new Date(result.deadlineAt).toISOString(),
        },
      })
    return answer(c, result)
  })

  app.post('/:token/fail', async (c) => {
    const t = target(c)
    const { value } = await unlessUnknown(t, readJsonBody(c, smallBodyBytes))
    const reason =
      value && typeof value === 'object' && typeof (value as { reason?: unknown }).reason === 'string'
        ? (value as { reason: string }).reason
        : ''
    return answer(c, await engine.callbacks.fail(t, reason))
  })

  app.get('/:token', async (c) => {
    const state = await engine.callbacks.state(target(c))
    if (!state) throw NOT_FOUND
    return c.json({ ok: true, data: { wait: state } })
  })

  return app
}
