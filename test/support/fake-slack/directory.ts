// The fake workspace's people, groups and channels, configured per test.

export interface FakeUser {
  id: string
  name: string
  real_name?: string
  tz?: string
  email?: string
  is_bot?: boolean
  deleted?: boolean
  is_admin?: boolean
  is_owner?: boolean
  is_restricted?: boolean
  is_ultra_restricted?: boolean
}

export interface FakeChannel {
  name: string
  /** When given, `conversations.members` lists them and `chat.postEphemeral` refuses other users. */
  members?: string[]
  is_private?: boolean
}

export interface DirectoryOptions {
  users?: FakeUser[]
  usergroups?: Record<string, string[]>
  channels?: Record<string, FakeChannel>
  teamId?: string
  teamDomain?: string
}

export class Directory {
  readonly users = new Map<string, FakeUser>()
  readonly usergroups: Map<string, string[]>
  readonly channels: Map<string, FakeChannel>
  readonly teamId: string
  readonly teamDomain: string

  constructor(options: DirectoryOptions) {
    for (const user of options.users ?? []) this.users.set(user.id, user)
    this.usergroups = new Map(Object.entries(options.usergroups ?? {}))
    this.channels = new Map(Object.entries(options.channels ?? {}))
    this.teamId = options.teamId ?? 'T0GREENLT'
    this.teamDomain = options.teamDomain ?? 'greenlight-test'
  }

  /**
   * Resolves what a caller passes as `channel`: an id, `#name`/`name` of a configured channel, or a user id (its DM).
   * Unknown names resolve to undefined; unknown ids are accepted as they are.
   */
  resolveChannel(ref: string): string | undefined {
    if (ref.startsWith('#')) return this.idOfName(ref.slice(1))
    if (this.channels.has(ref)) return ref
    if (/^[UW][A-Z0-9]+$/.test(ref)) return this.dmChannelOf(ref)
    if (/^[CGD][A-Z0-9]+$/.test(ref)) return ref
    return this.idOfName(ref)
  }

  /** DM channel id of a user: stable, so a test can predict it (`U123` → `D123`). */
  dmChannelOf(userId: string): string {
    return `D${userId.slice(1)}`
  }

  channelName(id: string): string {
    const configured = this.channels.get(id)?.name
    if (configured) return configured
    return id.startsWith('D') ? 'directmessage' : id.toLowerCase()
  }

  userName(id: string): string {
    return this.users.get(id)?.name ?? id.toLowerCase()
  }

  /** The Slack `users.info` shape of a configured user. */
  userObject(user: FakeUser): Record<string, unknown> {
    const realName = user.real_name ?? user.name
    return {
      id: user.id,
      team_id: this.teamId,
      name: user.name,
      real_name: realName,
      deleted: user.deleted ?? false,
      tz: user.tz ?? 'UTC',
      tz_label: user.tz ?? 'Coordinated Universal Time',
      tz_offset: 0,
      is_admin: user.is_admin ?? false,
      is_owner: user.is_owner ?? false,
      is_primary_owner: false,
      is_restricted: user.is_restricted ?? false,
      is_ultra_restricted: user.is_ultra_restricted ?? false,
      is_bot: user.is_bot ?? false,
      is_app_user: false,
      updated: 1_700_000_000,
      profile: {
        real_name: realName,
        display_name: user.name,
        email: user.email ?? `${user.name}@example.com`,
        team: this.teamId,
      },
    }
  }

  private idOfName(name: string): string | undefined {
    for (const [id, channel] of this.channels) if (channel.name === name) return id
    return undefined
  }
}
