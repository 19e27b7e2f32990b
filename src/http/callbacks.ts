// /callbacks/:token: remote agents complete, heartbeat, fail and inspect their wait. Tokens never reach the logs.
import { type Context, Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { verifyCallbackToken } from '../core/callback-token.ts'
import { parseDuration } from '../core/flow/index.ts'
import type { CallbackOutcome } from '../engine/callbacks.ts'
import type { Engine } from '../engine/engine.ts'
import { AppError } from '../errors.ts'

const NOT_FOUND = new AppError('not_found', 'No such callback.', { status: 404 })

const STATUS: Record<CallbackOutcome['type'], ContentfulStatusCode> = {
  accepted: 202,
  duplicate: 200,
  already_completed: 409,
  not_found: 404,
  expired: 410,
  invalid_payload: 422,
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
  }
}

async function readBody(c: Context, maxBytes: number): Promise<Buffer> {
  const declared = Number(c.req.header('content-length') ?? 0)
  if (declared > maxBytes)
    throw new AppError('payload_too_large', `The body is over ${maxBytes} bytes.`, { status: 413 })
  const raw = Buffer.from(await c.req.arrayBuffer())
  if (raw.length > maxBytes)
    throw new AppError('payload_too_large', `The body is over ${maxBytes} bytes.`, { status: 413 })
  return raw
}

async function readJsonBody(c: Context, maxBytes: number): Promise<{ raw: Buffer; value: unknown }> {
  const raw = await readBody(c, maxBytes)
  try {
    return { raw, value: JSON.parse(raw.toString('utf8')) }
  } catch {
    throw new AppError('unsupported_media_type', 'The body must be JSON.', {
      status: 415,
      hint: 'Send JSON with content-type: application/json.',
    })
  }
}

export function callbackRoutes(engine: Engine, key: Buffer, maxBodyBytes: number) {
  const app = new Hono()
  const target = (c: Context) => {
    const found = verifyCallbackToken(key, c.req.param('token') ?? '')
    if (!found) throw NOT_FOUND
    return found
  }

  app.post('/:token', async (c) => {
    const t = target(c)
    const { raw, value } = await readJsonBody(c, maxBodyBytes)
    return answer(c, await engine.callbacks.complete(t, value, raw, 'callback'))
  })

  app.post('/:token/heartbeat', async (c) => {
    const t = target(c)
    const text = (await readBody(c, 64 * 1024)).toString('utf8')
    let body: Record<string, unknown> = {}
    if (text.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(text)
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>
        else throw new Error('not an object')
      } catch {
        throw new AppError(
          'unsupported_media_type',
          'The body must be a JSON object: {"progress": "…", "extend": "30m"}.',
          { status: 415 },
        )
      }
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
    const { value } = await readJsonBody(c, 64 * 1024)
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
