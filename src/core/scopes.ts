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
