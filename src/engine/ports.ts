// The engine's ports: what it needs from storage and the outside world, as interfaces the adapters implement.

export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export interface FlowRecord {
  slug: string
  name: string
  description: string | null
  draftRevision: number
  liveVersion: number | null
  createdAt: number
  updatedAt: number
}

export interface RevisionRecord {
  id: number
  flowSlug: string
  number: number
  contentHash: string
  source: string
  definition: unknown
  version: number | null
  note: string | null
  releasedBy: string | null
  releasedAt: number | null
  createdBy: string | null
  createdAt: number
}

export interface NewRevision {
  slug: string
  name: string
  description: string | null
  contentHash: string
  source: string
  definition: unknown
  createdBy: string | null
  at: number
}

export interface FlowRepository {
  /** Stores the revision unless one with the same content exists; either way it becomes the draft. */
  pushRevision(input: NewRevision): Promise<{ revision: RevisionRecord; created: boolean }>
  list(): Promise<FlowRecord[]>
  get(slug: string): Promise<FlowRecord | undefined>
  revisions(slug: string): Promise<RevisionRecord[]>
  revisionByNumber(slug: string, number: number): Promise<RevisionRecord | undefined>
  revisionByVersion(slug: string, version: number): Promise<RevisionRecord | undefined>
  revisionById(id: number): Promise<RevisionRecord | undefined>
  /** Assigns the next version number to the revision, and makes it live when `promote`. */
  release(
    slug: string,
    revisionNumber: number,
    by: string | null,
    note: string | null,
    at: number,
    promote: boolean,
  ): Promise<RevisionRecord>
  setLive(slug: string, version: number, at: number): Promise<void>
}

export interface ConnectionLookup {
  /** The subset of `names` that has no connection configured. */
  missing(names: readonly string[]): Promise<string[]>
}

export interface TokenRecord {
  id: string
  name: string
  tokenHash: string
  scopes: unknown
  asUser: string | null
  createdBy: string | null
  createdAt: number
  lastUsedAt: number | null
  revokedAt: number | null
}

export interface TokenRepository {
  insert(row: Omit<TokenRecord, 'lastUsedAt' | 'revokedAt'>): Promise<TokenRecord>
  findByHash(hash: string): Promise<TokenRecord | undefined>
  list(): Promise<TokenRecord[]>
  findByIdOrName(ref: string): Promise<TokenRecord[]>
  revoke(id: string, at: number): Promise<void>
  touch(id: string, at: number): Promise<void>
}
