// Who may act on a flow's runs: start one (permissions.run), cancel one, submit an input. Every transport asks here.

import type { FlowDefinition } from '../core/flow/index.ts'
import { specOf } from '../core/wait-spec.ts'
import { AppError } from '../errors.ts'
import type { Directory } from './engine-deps.ts'
import type { RunRecord, WaitRecord } from './run-ports.ts'

/** Who asks: a Slack user (in Slack, or through a token created `--as` them) or a token with no Slack identity. */
export interface Actor {
  /** The name records carry (initiator, event actor): the Slack user id, or `token:<name>`. */
  id: string
  /** The Slack user acting; null for a token created without `--as`. */
  user: string | null
  /** A token with the `admin` scope: an operator, who could mint a token `--as` anyone anyway. */
  adminToken?: boolean
  /** The Slack channel the request was typed in, which a rule's `channels` may admit. */
  channel?: string | null
  /** The API token the request came with (none in Slack): recorded beside the person in votes and run events. */
  credential?: Credential | null
}

/** An API token as records name it: an admin minting an `--as` token for someone shows up here. */
export interface Credential {
  id: string
  name: string
}

/** The event data that names the token behind a change (nothing for Slack and the engine itself). */
export function credentialData(actor: Pick<Actor, 'credential'> | undefined): { token?: Credential } {
  return actor?.credential ? { token: { id: actor.credential.id, name: actor.credential.name } } : {}
}

/** A flow's list of people for one permission (its `permissions.run` or `permissions.cancel`). */
interface PeopleRule {
  users?: readonly string[]
  usergroups?: readonly string[]
  channels?: readonly string[]
}

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/

/** The actor a recorded name stands for: a Slack user id is that user; `token:…`, `schedule:…`, `webhook:…` nobody. */
export function actorNamed(id: string, channel: string | null = null): Actor {
  return { id, user: SLACK_USER.test(id) ? id : null, channel }
}

const isAdminToken = (actor: Actor) => actor.adminToken === true

const forbidden = (code: string, message: string, hint?: string) =>
  new AppError(code, message, { status: 403, ...(hint === undefined ? {} : { hint }) })

export function createAuthorization(deps: { directory: Directory; admins: readonly string[] }) {
  const isAdmin = (actor: Actor) => isAdminToken(actor) || (actor.user !== null && deps.admins.includes(actor.user))

  /** Only a Slack user can be listed; user groups resolve through Slack, so with Slack off they admit nobody. */
  async function admits(rule: PeopleRule, actor: Actor): Promise<boolean> {
    const user = actor.user
    if (user === null) return false
    if (rule.users?.includes(user)) return true
    if (actor.channel && rule.channels?.includes(actor.channel)) return true
    if (!rule.usergroups || rule.usergroups.length === 0) return false
    const members = await deps.directory.members([...rule.usergroups], null)
    return members?.has(user) === true
  }

  /** `permissions.run` (default: anyone). A token with no Slack identity is no one a rule lists: its scope decides. */
  async function mayStart(flow: FlowDefinition, actor: Actor): Promise<boolean> {
    const rule = flow.permissions?.run
    return !rule || actor.user === null || admits(rule, actor)
  }

  return {
    mayStart,

    async assertMayStart(flow: FlowDefinition, actor: Actor): Promise<void> {
      if (await mayStart(flow, actor)) return
      throw forbidden(
        'run_not_permitted',
        `${actor.user} may not start '${flow.slug}' (see its permissions.run).`,
        'Ask someone the flow lists to start it, or an admin to add you to its permissions.run.',
      )
    },

    /** The run's initiator, admins, and whoever the pinned flow's `permissions.cancel` admits. */
    async assertMayCancel(run: RunRecord, flow: FlowDefinition, actor: Actor): Promise<void> {
      if (actor.id === run.initiator || isAdmin(actor)) return
      const rule = flow.permissions?.cancel
      if (rule && (await admits(rule, actor))) return
      throw forbidden(
        'cancel_not_permitted',
        `Only the run's initiator (${run.initiator}), an admin or someone the flow's permissions.cancel lists may cancel ${run.id}.`,
      )
    },

    /**
     * An input's `assignees` (users, user groups), else the run's initiator; a token with the admin scope always.
     * Runs started by a schedule or a webhook have no person as initiator, so their inputs need assignees.
     */
    async assertMaySubmit(wait: WaitRecord, run: RunRecord, actor: Actor): Promise<void> {
      if (isAdminToken(actor)) return
      const assignees = (wait.kind === 'input' ? specOf(wait, 'input').assignees : null) ?? {
        users: [],
        usergroups: [],
      }
      const listed = assignees.users.length > 0 || assignees.usergroups.length > 0
      if (listed ? await admits(assignees, actor) : actor.id === run.initiator) return
      throw forbidden(
        'not_eligible',
        listed
          ? 'You are not one of the assignees of this input.'
          : `Only the run's initiator (${run.initiator}) may fill in this input.`,
        listed ? undefined : "List other people in the step's assignees to let them answer.",
      )
    },
  }
}

export type Authorization = ReturnType<typeof createAuthorization>
