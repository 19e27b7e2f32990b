// `greenlight resources …`: list a run's res:// artifacts, read one's exact bytes (checked against its sha256).
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
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

async function fetchBytes(ctx: CommandContext, id: string): Promise<{ bytes: Buffer; mediaType: string }> {
  const response = await ctx.api().getBytes(`/resources/${id}`)
  const bytes = response.body
  const header = (name: string) => {
    const value = response.headers[name]
    return Array.isArray(value) ? (value[0] ?? null) : (value ?? null)
  }
  const announced = header('x-greenlight-sha256')
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  if (sha256 !== id || (announced !== null && announced !== id)) {
    throw new AppError('resource_corrupt', `The bytes received for res://${id} do not match its sha256.`, {
      status: 502,
      hint: 'Fetch it again; if this repeats, the stored resource is damaged.',
      details: { ref: `res://${id}`, received_sha256: sha256, announced_sha256: announced, size: bytes.length },
    })
  }
  return { bytes, mediaType: header('content-type') ?? 'application/octet-stream' }
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
