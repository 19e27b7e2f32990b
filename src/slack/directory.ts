// Who is in a Slack user group or channel, for approver eligibility; cached briefly so a burst of clicks costs one lookup.
import type { Directory } from '../engine/engine-deps.ts'
import { AppError } from '../errors.ts'

interface DirectoryClient {
  apiCall(method: string, args: Record<string, unknown>): Promise<Record<string, unknown>>
}

const TTL_MS = 5 * 60_000

export function createSlackDirectory(client: DirectoryClient, now: () => number = Date.now): Directory {
  const cache = new Map<string, { members: string[]; at: number }>()

  async function cached(key: string, load: () => Promise<string[]>): Promise<string[]> {
    const hit = cache.get(key)
    if (hit && now() - hit.at < TTL_MS) return hit.members
    const members = await load()
    cache.set(key, { members, at: now() })
    return members
  }

  const usergroup = (id: string) =>
    cached(`usergroup:${id}`, async () => {
      const answer = await client.apiCall('usergroups.users.list', { usergroup: id })
      return (answer.users as string[] | undefined) ?? []
    })

  /** Every page of a cursor-paginated Web API method, 1,000 items at a time. */
  async function* pages(method: string, args: Record<string, unknown>): AsyncGenerator<Record<string, unknown>> {
    let cursor: string | undefined
    do {
      const page = await client.apiCall(method, { ...args, limit: 1000, ...(cursor ? { cursor } : {}) })
      yield page
      cursor = (page.response_metadata as { next_cursor?: string } | undefined)?.next_cursor || undefined
    } while (cursor)
  }

  /** Slack's member list takes a channel id; a flow may name its channel (`#eng-bots`), so names are looked up. */
  const idOf = async (ref: string): Promise<string> => {
    if (/^[CG][A-Z0-9]{2,}$/.test(ref)) return ref
    const name = ref.replace(/^#/, '')
    const [found] = await cached(`channel-name:${name}`, async () => {
      const listed = { types: 'public_channel,private_channel', exclude_archived: true }
      for await (const page of pages('conversations.list', listed)) {
        const match = ((page.channels as { id: string; name: string }[] | undefined) ?? []).find((c) => c.name === name)
        if (match) return [match.id]
      }
      return []
    })
    if (!found)
      throw new AppError('channel_not_found', `No channel named '#${name}' is visible to Greenlight.`, {
        status: 409,
        hint: 'Invite the bot to the channel, or give its id (C…) in the flow.',
      })
    return found
  }

  const channel = (ref: string) =>
    cached(`channel:${ref}`, async () => {
      const members: string[] = []
      for await (const page of pages('conversations.members', { channel: await idOf(ref) })) {
        members.push(...((page.members as string[] | undefined) ?? []))
      }
      return members
    })

  return {
    async members(usergroups, channelId) {
      if (usergroups.length === 0 && channelId === null) return null
      const lists = await Promise.all([...usergroups.map(usergroup), ...(channelId ? [channel(channelId)] : [])])
      return new Set(lists.flat())
    },
  }
}
