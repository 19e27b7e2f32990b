// `greenlight backup <file>`: the running server writes a consistent copy of its database (VACUUM INTO) to <file>,
// a path on the server's machine; relative paths are resolved here, against the current directory.
import { resolve } from 'node:path'
import { type Command, expectPositionals, positional } from '../command.ts'

export const backup: Command = {
  name: 'backup',
  usage: 'greenlight backup <file>   (written by the server, on its machine; never overwrites)',
  summary: "Write a consistent copy of the running server's database.",
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const path = resolve(ctx.cwd, positional(args, 0, 'file', this.usage))
    const data = await ctx.api().post('/admin/backup', { path })
    return { data, next: [`GREENLIGHT_DATA_DIR=<restore dir> DATABASE_URL=file:${path} greenlight serve`] }
  },
}
