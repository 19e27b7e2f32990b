// `greenlight audit verify` (a run's hash-chained history is intact) and `greenlight usage` (billable executions).
import { AppError } from '../../errors.ts'
import { type Command, expectPositionals, positional, stringOption, usageError } from '../command.ts'

interface AuditView {
  run_id: string
  events: number
  ok: boolean
  problems: unknown[]
}

export const verify: Command = {
  name: 'audit verify',
  usage: 'greenlight audit verify <run>',
  summary: "Check that a run's event chain was not changed or cut.",
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const id = positional(args, 0, 'run', this.usage)
    const { audit } = (await ctx.api().get(`/runs/${encodeURIComponent(id)}/audit`)) as { audit: AuditView }
    if (!audit.ok) {
      throw new AppError(
        'audit_failed',
        `The event chain of run ${id} is broken: ${audit.problems.length} problem(s).`,
        {
          status: 409,
          hint: `Compare with 'greenlight runs events ${id}'; a changed or deleted event breaks the chain from there on.`,
          details: { ...audit },
        },
      )
    }
    return { data: { audit }, next: [`greenlight runs events ${id}`] }
  },
}

function currentMonth(): string {
  return new Date().toISOString().slice(0, 7)
}

function previousMonth(month: string): string {
  const [year, mon] = month.split('-').map(Number) as [number, number]
  return new Date(Date.UTC(year, mon - 2, 1)).toISOString().slice(0, 7)
}

export const usage: Command = {
  name: 'usage',
  usage: 'greenlight usage [--month YYYY-MM]   (default: the current month, UTC)',
  summary: 'Billable step executions per flow for a month.',
  options: { month: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const month = stringOption(args, 'month') ?? currentMonth()
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw usageError(`'${month}' is not a month (YYYY-MM).`, this.usage)
    const data = await ctx.api().get(`/usage?month=${month}`)
    return { data, next: [`greenlight usage --month ${previousMonth(month)}`, 'greenlight runs list'] }
  },
}
