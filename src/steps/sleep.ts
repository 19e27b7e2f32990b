// sleep: parks the run on a durable timer until `duration` from now or the `until` timestamp.
import { parseDuration, toText } from '../core/flow/index.ts'
import { parkFor } from '../engine/park.ts'
import type { StepRunner } from '../engine/step-runner.ts'
import { TerminalError } from '../errors.ts'

export const sleepRunner: StepRunner = {
  kind: 'sleep',
  billable: false,
  async run(ctx) {
    const { duration, until } = ctx.config as { duration?: string; until?: unknown }
    const at = duration !== undefined ? ctx.now + (parseDuration(duration) ?? 0) : Date.parse(toText(until))
    if (!Number.isFinite(at)) throw new TerminalError('invalid_until', `'${toText(until)}' is not a timestamp.`)
    const fireAt = Math.max(at, ctx.now)
    return parkFor(
      ctx.now,
      'sleep',
      { until: new Date(fireAt).toISOString() },
      { deadlineAt: fireAt, timers: [{ key: `wake:${ctx.step.id}:${ctx.visit}`, kind: 'wake', fireAt }] },
    )
  },
}
