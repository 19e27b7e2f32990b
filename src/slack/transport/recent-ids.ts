// A bounded in-memory set of recently seen ids (Slack event_id), to drop Events API retries. Best effort only.

export interface RecentIds {
  /** True when `id` was seen within the TTL; otherwise records it and returns false. */
  seen(id: string): boolean
}

/** Slack's last retry comes ~5 minutes after the first attempt, so the TTL must outlive that. */
export function createRecentIds(options: { ttlMs?: number; max?: number; now?: () => number } = {}): RecentIds {
  const ttlMs = options.ttlMs ?? 10 * 60_000
  const max = options.max ?? 10_000
  const now = options.now ?? Date.now
  const expiries = new Map<string, number>() // insertion order = expiry order

  const prune = (at: number): void => {
    for (const [id, expiresAt] of expiries) {
      if (expiresAt > at && expiries.size < max) break
      expiries.delete(id)
    }
  }

  return {
    seen(id) {
      const at = now()
      prune(at)
      if (expiries.has(id)) return true
      expiries.set(id, at + ttlMs)
      return false
    },
  }
}
