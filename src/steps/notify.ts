// notify: without Slack, a notification is a run event and a log line; the Slack adapter delivers the same event.
import { toOptionalText } from '../core/flow/index.ts'
import type { StepRunner } from '../engine/step-runner.ts'

export const notifyRunner: StepRunner = {
  kind: 'notify',
  billable: true,
  async run(ctx) {
    const { blocks, dm, broadcast } = ctx.config
    // Text fields follow the one rule (toText): a template's object shows as JSON, nothing stays null.
    const text = toOptionalText(ctx.config.text) ?? null
    const message = {
      text,
      blocks: blocks ?? null,
      channel: toOptionalText(ctx.config.channel) ?? null,
      dm: dm ?? [],
      broadcast: broadcast ?? false,
    }
    ctx.logger.info({ run: ctx.run.id, step: ctx.step.id, text }, 'notify')
    return {
      type: 'done',
      output: { delivered: false, channel: message.channel, ts: null },
      events: [{ type: 'notify', stepId: ctx.step.id, data: message }],
    }
  },
}
