// Forms in Slack: the modal for missing run inputs (/gl run) and the modal of an `input` step.

import type { FlowDefinition } from '../core/flow/index.ts'
import { checkInputValues } from '../core/flow/input-values.ts'
import { specOf } from '../core/wait-spec.ts'
import type { Actor } from '../engine/authorization.ts'
import type { Engine } from '../engine/engine.ts'
import type { FlowVersions } from '../engine/flow-versions.ts'
import { inputFieldsOf } from '../engine/input-submission.ts'
import { AppError } from '../errors.ts'
import { parseInputMetadata, parseInputOpenValue, parseRunInputsMetadata } from './views/actions.ts'
import {
  inputModal,
  type RunInputSpec,
  readInputSubmission,
  readRunInputsSubmission,
  runInputsModal,
} from './views/input-modal.ts'

export interface FormDeps {
  engine: Engine
  versions: FlowVersions
  client: { apiCall(method: string, args: Record<string, unknown>): Promise<unknown> }
}

/** Required inputs that were neither given nor defaulted. */
export function missingInputs(flow: FlowDefinition, given: Record<string, unknown>): RunInputSpec[] {
  return Object.entries(flow.inputs ?? {})
    .filter(([name, def]) => def.required && def.default === undefined && given[name] === undefined)
    .map(([name, def]) => ({ name, type: def.type, required: true, description: def.description, enum: def.enum }))
}

/** A Slack user acting in the engine's terms; `channel` is where they typed or clicked. */
export const slackActor = (user: string, channel: string | null = null): Actor => ({ id: user, user, channel })

export function createForms(deps: FormDeps) {
  async function liveDefinition(slug: string, draft: boolean): Promise<FlowDefinition> {
    const revision = await deps.versions.resolveRef(slug, draft ? 'draft' : 'live')
    return revision.definition as FlowDefinition
  }

  return {
    liveDefinition,

    async openRunInputs(
      triggerId: string,
      slug: string,
      draft: boolean,
      missing: RunInputSpec[],
      given: Record<string, unknown>,
      channel: string,
    ) {
      const flow = await liveDefinition(slug, draft)
      await deps.client.apiCall('views.open', {
        trigger_id: triggerId,
        view: runInputsModal({ slug, name: flow.name, draft }, missing, given, { channel }),
      })
    },

    async submitRunInputs(
      user: string,
      metadata: string,
      values: unknown,
    ): Promise<{ errors?: Record<string, string> } | undefined> {
      const meta = parseRunInputsMetadata(metadata)
      if (!meta) return undefined
      const flow = await liveDefinition(meta.flow, meta.draft)
      const read = readRunInputsSubmission(missingInputs(flow, meta.given), values)
      if (!read.ok) return { errors: read.errors }
      await deps.engine.runs.start({
        slug: meta.flow,
        draft: meta.draft,
        inputs: { ...meta.given, ...read.values },
        initiator: user,
        trigger: 'slack',
        ...(meta.channel ? { slack: { channel: meta.channel } } : {}),
      })
      return undefined
    },

    async openInput(triggerId: string, value: string, actor: Actor) {
      const target = parseInputOpenValue(value)
      if (!target) return
      // Ask before opening the form, so someone who may not answer is told at once rather than after typing.
      await deps.engine.decisions.assertMaySubmit(target.wait, actor)
      const wait = await deps.engine.reads.wait(target.wait)
      if (wait?.kind !== 'input' || wait.status !== 'open') {
        throw new AppError('wait_closed', 'This input is no longer open.', { status: 409 })
      }
      await deps.client.apiCall('views.open', {
        trigger_id: triggerId,
        view: inputModal({
          waitId: wait.id,
          stepId: wait.stepId,
          message: specOf(wait, 'input').message,
          fields: specOf(wait, 'input').fields,
        }),
      })
    },

    async submitInput(
      user: string,
      metadata: string,
      values: unknown,
    ): Promise<{ errors?: Record<string, string> } | undefined> {
      const meta = parseInputMetadata(metadata)
      if (!meta) return undefined
      const wait = await deps.engine.reads.wait(meta.wait)
      if (wait?.kind !== 'input') return undefined
      const read = readInputSubmission(specOf(wait, 'input').fields, values)
      if (!read.ok) return { errors: read.errors }
      // The rule the engine applies to every submission, answered on the fields (block `f_<id>`) before submitting.
      const checked = checkInputValues(inputFieldsOf(wait), read.values)
      if (!checked.ok) return { errors: Object.fromEntries(checked.problems.map((p) => [`f_${p.field}`, p.message])) }
      await deps.engine.decisions.submit(wait.id, read.values, slackActor(user))
      return undefined
    },
  }
}
