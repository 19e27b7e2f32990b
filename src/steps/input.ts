// input: asks people for values (a Slack modal, or the API); parks until someone eligible submits.
import { parseDuration, toOptionalText } from '../core/flow/index.ts'
import type { StepRunner } from '../engine/step-runner.ts'

export const inputRunner: StepRunner = {
  kind: 'input',
  billable: false,
  async run(ctx) {
    const c = ctx.config as {
      fields: unknown[]
      assignees?: { users?: string[]; usergroups?: string[] }
      timeout?: string
      message?: unknown
    }
    const timeoutMs = c.timeout === undefined ? undefined : parseDuration(c.timeout)
    const deadlineAt = timeoutMs === undefined ? null : ctx.now + timeoutMs
    return {
      type: 'park',
      park: {
        kind: 'input',
        spec: {
          fields: c.fields,
          assignees: c.assignees ?? null,
          message: toOptionalText(c.message) ?? null,
          on_timeout: 'fail',
        },
        deadlineAt,
        timers: deadlineAt === null ? [] : [{ key: 'timeout', kind: 'wait_timeout', fireAt: deadlineAt }],
      },
    }
  },
}
