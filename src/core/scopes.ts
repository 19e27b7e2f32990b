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
