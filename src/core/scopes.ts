// API token scopes. `admin` grants every scope but `approvals:decide`: a vote needs a deliberate identity.

export const SCOPES = [
  'flows:read',
  'flows:write',
  'runs:read',
  'runs:write',
  'approvals:decide',
  'jobs:work',
  'admin',
] as const

export type Scope = (typeof SCOPES)[number]

/** What each scope lets a token do, one line each (`tokens create --help`). */
export const SCOPE_GRANTS: Record<Scope, string> = {
  'flows:read': 'List and show flows, their versions and diffs.',
  'flows:write': 'Push flow files as drafts, release and promote versions.',
  'runs:read': 'Read runs, their events, waits, resources, usage and audit exports.',
  'runs:write': 'Start, cancel and retry runs; complete waits, jobs and inputs with a payload.',
  'approvals:decide':
    'Vote on approvals (approve, reject, request changes) and read the approvals it decides; give it --as a person.',
  'jobs:work': 'Claim, heartbeat, finish and fail jobs as a worker.',
  admin: "Everything but approvals:decide: tokens, secrets, connections, and a wait's callback URL.",
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value)
}

export function hasScope(granted: readonly string[], needed: Scope): boolean {
  if (granted.includes(needed)) return true
  return needed !== 'approvals:decide' && granted.includes('admin')
}

/**
 * How much of runs a token may read: `all` with runs:read (or admin); `approvals` with approvals:decide alone, which
 * reads the approvals it decides, their runs and what they show, since a voter must see what it votes on; else none.
 */
export type ReadAccess = 'all' | 'approvals' | 'none'

export function readAccess(granted: readonly string[]): ReadAccess {
  if (hasScope(granted, 'runs:read')) return 'all'
  return hasScope(granted, 'approvals:decide') ? 'approvals' : 'none'
}
