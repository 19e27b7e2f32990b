// transform: a pure JSONata expression whose value is the output.
import type { StepRunner } from '../engine/step-runner.ts'

export const transformRunner: StepRunner = {
  kind: 'transform',
  billable: true,
  pure: true,
  async run(ctx) {
    const output = ctx.step.transform ? await ctx.step.transform.evaluate(ctx.scope, ctx.expressions) : null
    return { type: 'done', output: output ?? null }
  },
}
