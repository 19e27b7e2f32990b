// notify: without Slack, a notification is a run event and a log line; the Slack adapter delivers the same event.
import type { StepRunner } from '../engine/step-runner.ts'

export const notifyRunner: StepRunner = {
  kind: 'notify',
  billable: true,
  async run(ctx) {
    const { text, blocks, channel, dm, broadcast } = ctx.config
    const message = {
      text: text ?? null,
      blocks: blocks ?? null,
      channel: channel ?? null,
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
