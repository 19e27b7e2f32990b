// `greenlight secrets set|list|delete`: the value comes from stdin or a file and is never printed back.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { AppError } from '../../errors.ts'
import { type Command, expectPositionals, positional, stringOption, usageError } from '../command.ts'

function readValue(cwd: string, file: string | undefined): string {
  try {
    // Trailing newlines are what `echo` and editors add, not part of the secret.
    return readFileSync(file === undefined || file === '-' ? 0 : resolve(cwd, file), 'utf8').replace(/\r?\n$/, '')
  } catch (error) {
    throw new AppError(
      'file_unreadable',
      `Cannot read the secret value: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
      {
        status: 400,
        hint: 'Pipe the value on stdin, or pass --file <path>.',
      },
    )
  }
}

export const set: Command = {
  name: 'secrets set',
  usage: 'greenlight secrets set <name> [--file <path>]   (value from stdin when no --file)',
  summary: 'Store a secret (encrypted at rest; never printed).',
  options: { file: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const name = positional(args, 0, 'name', this.usage)
    const value = readValue(ctx.cwd, stringOption(args, 'file'))
    if (value === '') throw usageError('The secret value is empty.', this.usage)
    const data = await ctx.api().put(`/secrets/${encodeURIComponent(name)}`, { value })
    return { data, next: ['greenlight secrets list'] }
  },
}

export const list: Command = {
  name: 'secrets list',
  usage: 'greenlight secrets list',
  summary: 'List secret names (never values).',
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    return { data: await ctx.api().get('/secrets') }
  },
}

export const remove: Command = {
  name: 'secrets delete',
  usage: 'greenlight secrets delete <name>',
  summary: 'Delete a secret.',
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const name = positional(args, 0, 'name', this.usage)
    return { data: await ctx.api().delete(`/secrets/${encodeURIComponent(name)}`), next: ['greenlight secrets list'] }
  },
}
