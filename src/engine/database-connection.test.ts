import { describe, expect, it } from 'vitest'
import { databaseConfig, databaseEngine, secretNames } from './connections.ts'

const problems = (input: unknown) => {
  const parsed = databaseConfig.safeParse(input)
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
}

describe('database connections', () => {
  it('tell the engine from the URL scheme', () => {
    expect(databaseEngine('postgres://app@db:5432/crm')).toBe('postgres')
    expect(databaseEngine('postgresql://db/crm')).toBe('postgres')
    expect(databaseEngine('libsql://crm.example.com')).toBe('libsql')
    expect(databaseEngine('file:/var/lib/crm.db')).toBe('libsql')
    expect(databaseEngine('mysql://db/crm')).toBeUndefined()
  })

  it('accept a URL without credentials and a password secret', () => {
    expect(problems({ url: 'postgres://app@127.0.0.1:5432/crm', password_secret: 'crm_pw' })).toEqual([])
    expect(problems({ url: 'file:data/crm.db' })).toEqual([])
    expect(secretNames('database', { url: 'postgres://h/d', password_secret: 'crm_pw' })).toEqual(['crm_pw'])
  })

  it('refuse a password in the URL, also as a query parameter, and say to use password_secret', () => {
    for (const url of [
      'postgres://app:hunter2hunter2@db/crm',
      'postgres://app@db/crm?password=hunter2',
      'libsql://crm.example.com?authToken=abc',
    ]) {
      const found = problems({ url })
      expect(found, url).toHaveLength(1)
      expect(found[0]).toMatch(/^url: .*password_secret/)
    }
  })

  it('refuse an unknown scheme, a password for a file and unknown keys', () => {
    expect(problems({ url: 'mysql://db/crm' })).toEqual(['url: a postgres://, postgresql://, libsql:// or file: URL'])
    expect(problems({ url: 'file:crm.db', password_secret: 'x_pw' })[0]).toMatch(/^password_secret: /)
    expect(problems({ url: 'file:crm.db', password: 'x' })).toHaveLength(1)
  })
})
