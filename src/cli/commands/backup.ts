// `greenlight backup <file>`: the running server writes a consistent copy of its database (VACUUM INTO, online) and
// sends it here; it is written to <file>.partial and renamed to <file> only once whole, never over an existing file.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { AppError } from '../../errors.ts'
import { type Command, expectPositionals, positional } from '../command.ts'

export const backup: Command = {
  name: 'backup',
  usage: 'greenlight backup <file>   (a new file; the server sends a consistent copy of its database)',
  summary: "Write a consistent copy of the running server's database.",
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const file = resolve(ctx.cwd, positional(args, 0, 'file', this.usage))
    if (existsSync(file))
      throw new AppError('backup_exists', `${file} exists already; a backup never overwrites a file.`, {
        status: 409,
        hint: 'Name a new file, or move the old one away.',
      })
    if (!existsSync(dirname(file)) || !statSync(dirname(file)).isDirectory())
      throw new AppError('invalid_path', `The directory ${dirname(file)} does not exist.`, {
        status: 400,
        hint: 'Create it first, or name a file in an existing directory.',
      })
    const partial = `${file}.partial`
    let answer: Awaited<ReturnType<ReturnType<typeof ctx.api>['download']>>
    try {
      answer = await ctx.api().download('/admin/backup', {}, partial)
    } catch (error) {
      // A partial file of ours is removed; one that was there before (flag 'wx' refused it) is left alone.
      if (!(error instanceof AppError && error.code === 'file_unwritable')) rmSync(partial, { force: true })
      throw error
    }
    const expected = Number(answer.headers['content-length'])
    if (Number.isFinite(expected) && expected !== answer.bytes) {
      rmSync(partial, { force: true })
      throw new AppError('backup_incomplete', `The backup was cut off after ${answer.bytes} of ${expected} bytes.`, {
        status: 502,
        hint: 'Take it again; nothing was written.',
      })
    }
    renameSync(partial, file)
    return {
      data: {
        backup: { file, bytes: answer.bytes, duration_ms: Number(answer.headers['x-greenlight-backup-duration-ms']) },
      },
      next: [`DATABASE_URL=file:${file} GREENLIGHT_SECRET_KEY=<the instance key> greenlight serve`],
    }
  },
}
