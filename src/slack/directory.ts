// Who is in a Slack user group or channel, for approver eligibility; cached briefly so a burst of clicks costs one lookup.
import type { Directory } from '../engine/engine-deps.ts'

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

  const channel = (id: string) =>
    cached(`channel:${id}`, async () => {
      const members: string[] = []
      let cursor: string | undefined
      do {
        const answer = await client.apiCall('conversations.members', {
          channel: id,
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        })
        members.push(...((answer.members as string[] | undefined) ?? []))
        cursor = (answer.response_metadata as { next_cursor?: string } | undefined)?.next_cursor || undefined
      } while (cursor)
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
