// What Greenlight does with Slack input: /gl commands, approval buttons, reason modals, App Home.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { FlowDefinition } from '../core/flow/index.ts'
import { allowsManualRuns } from '../core/flow/triggers-model.ts'
import { REQUEST_FLOW_SLUG } from '../core/request-flow.ts'
import type { Actor } from '../engine/authorization.ts'
import type { Engine } from '../engine/engine.ts'
import type { Directory } from '../engine/engine-deps.ts'
import type { FlowVersions } from '../engine/flow-versions.ts'
import type { OutboxPort } from '../engine/outbox-port.ts'
import type { FlowRepository } from '../engine/ports.ts'
import { isAppError } from '../errors.ts'
import { createEditForms } from './approval-edits.ts'
import { parseGlCommand, USAGE } from './command-parser.ts'
import { createForms, missingInputs, slackActor } from './forms.ts'
import type { SlackHandlers, SlackReply } from './transport/handlers.ts'
import { ACTION, CALLBACK, parseApprovalActionValue, parseReasonMetadata } from './views/actions.ts'
import { approvalReasonModal } from './views/approval.ts'
import { homeView } from './views/home.ts'

export interface SlackHandlerDeps {
  engine: Engine
  versions: FlowVersions
  flows: FlowRepository
  outbox: OutboxPort & { kick(): void }
  /** Direct Web API calls that cannot wait for the outbox (views.open needs a trigger_id that expires in 3 s). */
  client: { apiCall(method: string, args: Record<string, unknown>): Promise<unknown> }
  admins: readonly string[]
  directory: Directory
  logger: Logger
  /** A one-time web console URL signed in as this Slack user (`/gl console`); absent, the console is off. */
  consoleLink?: ((slackUser: string) => Promise<{ url: string; expiresAt: number }>) | undefined
}

const ephemeral = (text: string): SlackReply => ({ text, responseType: 'ephemeral' })

function explain(error: unknown): string {
  if (isAppError(error)) return `${error.message}${error.hint ? `\n_${error.hint}_` : ''}`
  return 'Something went wrong; it is logged.'
}

export function createSlackHandlers(deps: SlackHandlerDeps): SlackHandlers {
  const { engine, outbox } = deps
  const isAdmin = (user: string) => deps.admins.includes(user)
  const forms = createForms(deps)
  const edits = createEditForms(deps)

  async function tellUser(user: string, channel: string | null, text: string): Promise<void> {
    await outbox.enqueue({
      key: `ephemeral:${randomUUID()}`,
      method: channel ? 'chat.postEphemeral' : 'chat.postMessage',
      payload: channel ? { channel, user, text } : { channel: user, text },
    })
    outbox.kick()
  }

  async function command(input: Parameters<SlackHandlers['command']>[0]): Promise<SlackReply> {
    const parsed = parseGlCommand(input.text)
    try {
      switch (parsed.name) {
        case 'help':
          return ephemeral(`${parsed.problem ? `${parsed.problem}\n\n` : ''}${USAGE}`)
        case 'run': {
          const flow = await forms.liveDefinition(parsed.slug, parsed.draft)
          if (!(await engine.authorization.mayStart(flow, slackActor(input.userId, input.channelId)))) {
            return ephemeral(`You may not start \`${parsed.slug}\` (see its permissions.run).`)
          }
          const missing = missingInputs(flow, parsed.inputs)
          if (missing.length > 0) {
            await forms.openRunInputs(
              input.triggerId,
              parsed.slug,
              parsed.draft,
              missing,
              parsed.inputs,
              input.channelId,
            )
            return ephemeral(
              `\`${parsed.slug}\` needs ${missing.map((m) => `\`${m.name}\``).join(', ')}: fill them in the form.`,
            )
          }
          const run = await engine.runs.start({
            slug: parsed.slug,
            draft: parsed.draft,
            inputs: parsed.inputs,
            initiator: input.userId,
            trigger: 'slack',
            slack: { channel: input.channelId },
          })
          return ephemeral(`Started \`${run.id}\` (${parsed.slug}); its card and thread are in this channel.`)
        }
        case 'list': {
          const flows = await startableBy(slackActor(input.userId, input.channelId), await deps.flows.list())
          if (flows.length === 0) return ephemeral('No released flow you may start by hand.')
          return ephemeral(flows.map((f) => `• \`${f.slug}\` v${f.liveVersion}: ${f.name}`).join('\n'))
        }
        case 'status': {
          const run = await engine.runs.requireRun(parsed.run)
          const waiting =
            run.status === 'waiting' && run.waitingOn ? ` on ${run.waitingOn.kind} \`${run.waitingOn.step}\`` : ''
          return ephemeral(
            `\`${run.id}\` (${run.flowSlug}@v${run.version ?? 'draft'}): *${run.status}*${waiting}${run.error ? `\n${run.error.message}` : ''}`,
          )
        }
        case 'cancel': {
          const run = await engine.runs.cancel(parsed.run, slackActor(input.userId, input.channelId))
          return ephemeral(`\`${run.id}\` is ${run.status}.`)
        }
        case 'approvals': {
          const waiting = await engine.approvals.waitingOn(input.userId)
          if (waiting.length === 0) return ephemeral('Nothing waits on you.')
          return ephemeral(
            waiting
              .map(
                ({ wait, run, tally }) =>
                  `• \`${wait.stepId}\` in \`${wait.runId}\` (${run.flowSlug}@v${run.version}), ${tally.approvals} of ${tally.required} approvals`,
              )
              .join('\n'),
          )
        }
        case 'console': {
          if (!deps.consoleLink) return ephemeral('The web console is not served by this Greenlight.')
          const link = await deps.consoleLink(input.userId)
          return ephemeral(`Your one-time console link (valid 10 minutes, works once; do not share it): ${link.url}`)
        }
        case 'release':
        case 'promote': {
          if (!isAdmin(input.userId))
            return ephemeral('Only Greenlight admins (GREENLIGHT_ADMINS) may release or promote flows.')
          if (parsed.name === 'release') {
            const released = await deps.versions.release(parsed.slug, { note: parsed.note, by: input.userId })
            return ephemeral(`Released \`${parsed.slug}\` v${released.version}; it is live.`)
          }
          const promoted = await deps.versions.promote(parsed.slug, parsed.version)
          return ephemeral(`\`${parsed.slug}\` v${promoted.live} is live (was v${promoted.previous ?? '–'}).`)
        }
      }
    } catch (error) {
      if (!isAppError(error)) deps.logger.error({ err: error }, '/gl failed')
      return ephemeral(explain(error))
    }
  }

  /**
   * Live flows the actor may start by hand: their triggers let people start them (a schedule- or webhook-only flow
   * does not) and their permissions.run admits the actor, as `/gl run` would ask.
   */
  async function startableBy<F extends { slug: string; liveVersion: number | null }>(
    actor: Actor,
    flows: F[],
  ): Promise<F[]> {
    const live = await Promise.all(
      flows.map(async (f) => {
        // The built-in request flow is asked by agents (request_approval), never started by hand from Slack.
        if (f.liveVersion === null || f.slug === REQUEST_FLOW_SLUG) return false
        const revision = await deps.flows.revisionByVersion(f.slug, f.liveVersion)
        const definition = revision?.definition as FlowDefinition | undefined
        return (
          definition !== undefined &&
          allowsManualRuns(definition.triggers) &&
          (await engine.authorization.mayStart(definition, actor))
        )
      }),
    )
    return flows.filter((_, i) => live[i])
  }

  async function vote(
    user: string,
    wait: string,
    digest: string,
    decision: 'approve' | 'reject' | 'request_changes',
    comment: string | null,
    channel: string | null,
  ) {
    try {
      await engine.approvals.vote({
        waitId: wait,
        voter: user,
        decision,
        // A NUL would cut the stored comment short when read back; a Slack user cannot retype it, so drop it.
        comment: comment === null ? null : comment.replaceAll('\u0000', ''),
        via: 'slack',
        anonymousToken: false,
        digest,
      })
    } catch (error) {
      if (!isAppError(error)) throw error
      await tellUser(user, channel, explain(error))
    }
  }

  return {
    command,

    async action(input) {
      if (input.actionId === ACTION.inputOpen) {
        try {
          await forms.openInput(input.triggerId, input.value, slackActor(input.userId, input.channelId))
        } catch (error) {
          if (!isAppError(error)) throw error
          await tellUser(input.userId, input.channelId, explain(error))
        }
        return
      }
      if (input.actionId === ACTION.editApprove) {
        try {
          await edits.open({
            triggerId: input.triggerId,
            value: input.value,
            user: input.userId,
            channel: input.channelId,
            ts: input.messageTs ?? null,
          })
        } catch (error) {
          if (!isAppError(error)) throw error
          await tellUser(input.userId, input.channelId, explain(error))
        }
        return
      }
      const target = parseApprovalActionValue(input.value)
      if (!target) return
      if (input.actionId === ACTION.approve) {
        await vote(input.userId, target.wait, target.digest, 'approve', null, input.channelId)
        return
      }
      const modalFor = {
        [ACTION.approveWithComment]: 'approve',
        [ACTION.reject]: 'reject',
        [ACTION.requestChanges]: 'request_changes',
      } as const
      const decision = modalFor[input.actionId as keyof typeof modalFor]
      if (decision) {
        await deps.client.apiCall('views.open', {
          trigger_id: input.triggerId,
          view: approvalReasonModal({
            waitId: target.wait,
            digest: target.digest,
            decision,
            ...(input.channelId ? { channel: input.channelId } : {}),
            ...(input.messageTs ? { ts: input.messageTs } : {}),
          }),
        })
      }
    },

    async viewSubmission(input) {
      try {
        if (input.callbackId === CALLBACK.runInputs)
          return await forms.submitRunInputs(input.userId, input.privateMetadata, input.values)
        if (input.callbackId === CALLBACK.input)
          return await forms.submitInput(input.userId, input.privateMetadata, input.values)
        if (input.callbackId === CALLBACK.editApprove)
          return await edits.submit(input.userId, input.privateMetadata, input.values)
      } catch (error) {
        if (!isAppError(error)) throw error
        await tellUser(input.userId, null, explain(error))
        return undefined
      }
      if (input.callbackId !== CALLBACK.reason) return undefined
      const meta = parseReasonMetadata(input.privateMetadata)
      if (!meta) return undefined
      const field = input.values.reason?.reason as { value?: unknown } | undefined
      const reason = typeof field?.value === 'string' ? field.value.trim() : ''
      // An approval's comment is optional; a rejection or a change request says why.
      if (reason === '' && meta.decision !== 'approve')
        return { errors: { reason: 'Say why, so the author can act on it.' } }
      await vote(
        input.userId,
        meta.wait,
        meta.digest,
        meta.decision,
        reason === '' ? null : reason,
        meta.channel ?? null,
      )
      return undefined
    },

    async homeOpened(userId) {
      const [waits, runs, flows] = await Promise.all([
        engine.approvals.waitingOn(userId),
        // The viewer's own recent runs, however many runs others started since.
        engine.runs.list({ initiator: userId, limit: 15 }),
        deps.flows.list(),
      ])
      const approvals = waits.map(({ wait, spec, run, tally }) => ({
        waitId: wait.id,
        digest: wait.digest ?? '',
        runId: wait.runId,
        stepId: wait.stepId,
        flow: { slug: run.flowSlug, version: run.version },
        requestedBy: run.initiator,
        message: spec.message,
        approvals: tally.approvals,
        required: tally.required,
        createdAt: wait.createdAt,
        deadlineAt: wait.deadlineAt,
        editable: spec.edit !== null,
      }))
      const view = homeView({
        approvals,
        runs,
        // Home is typed in no channel, so a flow only a channel's permissions.run admits is listed by `/gl list` there.
        flows: (await startableBy(slackActor(userId), flows)).map((f) => ({
          slug: f.slug,
          name: f.name,
          liveVersion: f.liveVersion,
        })),
        now: Date.now(),
      })
      await outbox.enqueue({
        key: `home:${userId}:${randomUUID()}`,
        method: 'views.publish',
        payload: { user_id: userId, view },
      })
      outbox.kick()
    },
  }
}
