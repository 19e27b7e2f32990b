// `greenlight resources …`: list a run's res:// artifacts, read one's exact bytes (checked against its sha256).
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { AppError } from '../../errors.ts'
import {
  type Command,
  type CommandContext,
  expectPositionals,
  positional,
  stringOption,
  usageError,
} from '../command.ts'

const REF = /^(?:res:\/\/)?([0-9a-f]{64})$/

export const list: Command = {
  name: 'resources list',
  usage: 'greenlight resources list [--run <run>]',
  summary: 'List stored resources (diffs, logs, large payloads).',
  options: { run: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const run = stringOption(args, 'run')
    const data = (await ctx.api().get(`/resources${run ? `?run=${encodeURIComponent(run)}` : ''}`)) as {
      resources: { ref: string }[]
    }
    const next = data.resources.slice(0, 3).map((r) => `greenlight resources get ${r.ref}`)
    return { data, next: next.length > 0 ? next : ['greenlight runs list'] }
  },
}

/** The API token, found as ctx.api() finds it (the JSON client cannot return raw bytes). */
function token(ctx: CommandContext): string {
  ctx.api() // fails with not_configured (exit 3) exactly like every other command
  return ctx.config.token ?? readFileSync(join(ctx.config.dataDir, 'cli-token'), 'utf8').trim()
}

async function fetchBytes(ctx: CommandContext, id: string): Promise<{ bytes: Buffer; mediaType: string }> {
  const url = ctx.config.url
  const authorization = `Bearer ${token(ctx)}`
  let response: Response
  try {
    response = await fetch(`${url}/api/v1/resources/${id}`, { headers: { authorization } })
  } catch (error) {
    throw new AppError('server_unreachable', `Cannot reach the Greenlight server at ${url}.`, {
      status: 503,
      hint: "Start it with 'npm start' (or 'greenlight serve'), or set GREENLIGHT_URL.",
      details: { url, cause: error instanceof Error ? ((error.cause as Error)?.message ?? error.message) : error },
    })
  }
  const bytes = Buffer.from(await response.arrayBuffer())
  if (!response.ok) {
    let e: { code?: string; message?: string; hint?: string; details?: Record<string, unknown> } = {}
    try {
      e = (JSON.parse(bytes.toString('utf8')) as { error?: typeof e }).error ?? {}
    } catch {
      // not an envelope: fall back to the status line below
    }
    throw new AppError(e.code ?? 'request_failed', e.message ?? `The server answered ${response.status}.`, {
      status: response.status,
      hint: e.hint,
      details: e.details ?? {},
    })
  }
  const announced = response.headers.get('x-greenlight-sha256')
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  if (sha256 !== id || (announced !== null && announced !== id)) {
    throw new AppError('resource_corrupt', `The bytes received for res://${id} do not match its sha256.`, {
      status: 502,
      hint: 'Fetch it again; if this repeats, the stored resource is damaged.',
      details: { ref: `res://${id}`, received_sha256: sha256, announced_sha256: announced, size: bytes.length },
    })
  }
  return { bytes, mediaType: response.headers.get('content-type') ?? 'application/octet-stream' }
}

function utf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

export const get: Command = {
  name: 'resources get',
  usage: 'greenlight resources get <res://sha256> [--out <file>]',
  summary: 'Read a resource (exact bytes with --out).',
  options: { out: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const given = positional(args, 0, 'res://…', this.usage)
    const id = REF.exec(given.trim())?.[1]
    if (id === undefined) throw usageError(`'${given}' is not a resource reference (res://<sha256>).`, this.usage)
    const ref = `res://${id}`
    const out = stringOption(args, 'out')
    if (out === '') throw usageError('--out needs a file name.', this.usage)
    const { bytes, mediaType } = await fetchBytes(ctx, id)
    if (out !== undefined) {
      const path = resolve(ctx.cwd, out)
      try {
        writeFileSync(path, bytes)
      } catch (error) {
        throw new AppError('file_unwritable', `Cannot write ${out}: ${(error as NodeJS.ErrnoException).code}.`, {
          status: 400,
          hint: 'Check that the directory exists and is writable.',
        })
      }
      return {
        data: { ref, size: bytes.length, media_type: mediaType, sha256: id, path },
        next: ['greenlight resources list'],
      }
    }
    const text = utf8(bytes)
    return {
      data: {
        ref,
        size: bytes.length,
        media_type: mediaType,
        sha256: id,
        encoding: text === undefined ? 'base64' : 'utf8',
        content: text ?? bytes.toString('base64'),
      },
      next: [`greenlight resources get ${ref} --out <file>`],
    }
  },
}
