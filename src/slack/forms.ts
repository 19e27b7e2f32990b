// Forms in Slack: the modal for missing run inputs (/gl run) and the modal of an `input` step.

import type { FlowDefinition } from '../core/flow/index.ts'
import type { Engine } from '../engine/engine.ts'
import type { Directory } from '../engine/engine-deps.ts'
import type { FlowVersions } from '../engine/flow-versions.ts'
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
  directory: Directory
  client: { apiCall(method: string, args: Record<string, unknown>): Promise<unknown> }
}

/** Required inputs that were neither given nor defaulted. */
export function missingInputs(flow: FlowDefinition, given: Record<string, unknown>): RunInputSpec[] {
  return Object.entries(flow.inputs ?? {})
    .filter(([name, def]) => def.required && def.default === undefined && given[name] === undefined)
    .map(([name, def]) => ({ name, type: def.type, required: true, description: def.description, enum: def.enum }))
}

/** `permissions.run`: who may start the flow from Slack (default: anyone). */
export async function mayRun(
  flow: FlowDefinition,
  user: string,
  channel: string,
  directory: Directory,
): Promise<boolean> {
  const rule = flow.permissions?.run
  if (!rule) return true
  if (rule.users?.includes(user) || rule.channels?.includes(channel)) return true
  if (rule.usergroups && rule.usergroups.length > 0) {
    const members = await directory.members(rule.usergroups, null)
    if (members?.has(user)) return true
  }
  return false
}

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

    async openInput(triggerId: string, value: string) {
      const target = parseInputOpenValue(value)
      if (!target) return
      const wait = await deps.engine.store.getWait(target.wait)
      if (wait?.kind !== 'input' || wait.status !== 'open') {
        throw new AppError('wait_closed', 'This input is no longer open.', { status: 409 })
      }
      await deps.client.apiCall('views.open', {
        trigger_id: triggerId,
        view: inputModal({
          waitId: wait.id,
          stepId: wait.stepId,
          message: (wait.spec?.message as string | null) ?? null,
          fields: (wait.spec?.fields as never) ?? [],
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
      const wait = await deps.engine.store.getWait(meta.wait)
      if (!wait) return undefined
      const read = readInputSubmission((wait.spec?.fields as never) ?? [], values)
      if (!read.ok) return { errors: read.errors }
      await deps.engine.decisions.submit(wait.id, read.values, user)
      return undefined
    },
  }
}
