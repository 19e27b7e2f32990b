// `greenlight prune [--dry-run] [--batch-size N]`: ended runs older than GREENLIGHT_RETENTION, with what only they
// use, and old bookkeeping; the server does it (one instance at a time) and reports what it removed.
import { type Command, expectPositionals, stringOption, usageError } from '../command.ts'

export const prune: Command = {
  name: 'prune',
  usage: 'greenlight prune [--dry-run] [--batch-size <1-1000>]',
  summary: 'Remove ended runs older than the retention (--dry-run: count only).',
  options: { 'dry-run': { type: 'boolean' }, 'batch-size': { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const dryRun = args.values['dry-run'] === true
    const raw = stringOption(args, 'batch-size')
    let batchSize: number | undefined
    if (raw !== undefined) {
      batchSize = Number(raw)
      if (!/^\d+$/.test(raw) || batchSize < 1 || batchSize > 1000)
        throw usageError(`--batch-size '${raw}' is not a whole number from 1 to 1000.`, this.usage)
    }
    const data = await ctx.api().post('/admin/prune', {
      dry_run: dryRun,
      ...(batchSize === undefined ? {} : { batch_size: batchSize }),
    })
    return { data, next: dryRun ? ['greenlight prune'] : ['greenlight runs list'] }
  },
}
