import { describe, expect, it } from 'vitest'
import { ConfigError, loadCliConfig, loadConfig } from './config.ts'

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable)
    throw error
  }
  return []
}

describe('loadConfig', () => {
  it('starts with no variables at all', () => {
    const config = loadConfig({})
    expect(config.port).toBe(3000)
    expect(config.host).toBe('127.0.0.1')
    expect(config.publicUrl).toBe('http://127.0.0.1:3000')
    expect(config.databaseUrl).toMatch(/^file:\/.*data\/greenlight\.db$/)
    expect(config.slack).toBeUndefined()
    expect(config.resourceThresholdBytes).toBe(256 * 1024)
  })

  it('reports every problem at once, each with a fix', () => {
    try {
      loadConfig({ PORT: 'abc', GREENLIGHT_SECRET_KEY: 'short', LOG_LEVEL: 'loud', DATABASE_URL: 'postgres://x' })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      const e = error as ConfigError
      expect(e.problems.map((p) => p.variable).sort()).toEqual([
        'DATABASE_URL',
        'GREENLIGHT_SECRET_KEY',
        'LOG_LEVEL',
        'PORT',
      ])
      expect(e.message).toContain('PORT')
      expect(e.message).toContain('GREENLIGHT_SECRET_KEY')
      for (const p of e.problems) expect(p.fix.length).toBeGreaterThan(5)
    }
  })

  it('chooses the Slack transport from the tokens', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).slack?.mode).toBe('socket')
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }).slack?.mode).toBe('http')
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual(['SLACK_SIGNING_SECRET'])
    expect(problemsOf({ SLACK_APP_TOKEN: 'xapp-1' })).toEqual(['SLACK_BOT_TOKEN'])
    expect(
      loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_API_URL: 'http://127.0.0.1:9/api' })
        .slack?.apiUrl,
    ).toBe('http://127.0.0.1:9/api/')
    const http = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }
    expect(loadConfig(http).slack?.updateIntervalMs).toBe(1000)
    expect(loadConfig({ ...http, SLACK_UPDATE_INTERVAL_MS: '250' }).slack?.updateIntervalMs).toBe(250)
    expect(problemsOf({ ...http, SLACK_UPDATE_INTERVAL_MS: '1s' })).toEqual(['SLACK_UPDATE_INTERVAL_MS'])
  })

  it('accepts a 32-byte key and admin ids', () => {
    const key = Buffer.alloc(32, 7).toString('base64')
    const config = loadConfig({ GREENLIGHT_SECRET_KEY: key, GREENLIGHT_ADMINS: 'U01ABC, U02DEF' })
    expect(config.secretKey?.length).toBe(32)
    expect(config.admins).toEqual(['U01ABC', 'U02DEF'])
    expect(problemsOf({ GREENLIGHT_ADMINS: 'alice' })).toEqual(['GREENLIGHT_ADMINS'])
  })

  it('reads the CLI settings', () => {
    expect(loadCliConfig({}).url).toBe('http://127.0.0.1:3000')
    expect(loadCliConfig({ GREENLIGHT_URL: 'http://h:1/', GREENLIGHT_TOKEN: 't' })).toMatchObject({
      url: 'http://h:1',
      token: 't',
    })
    expect(() => loadCliConfig({ GREENLIGHT_URL: 'nope' })).toThrow(ConfigError)
  })
})
