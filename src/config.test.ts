import { isIP } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, NASTY_CHARS } from '../test/support/fuzz-env.ts'
import { ConfigError, loadCliConfig, loadConfig, parseHost, parseServerUrl } from './config.ts'

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable)
    throw error
  }
  return []
}

const SEED = fuzzSeed(Date.now() % 1_000_000)

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

  it('reads the shutdown deadline, 10 s unless set, and refuses one that is not a number of milliseconds', () => {
    expect(loadConfig({}).shutdownTimeoutMs).toBe(10_000)
    expect(loadConfig({ GREENLIGHT_SHUTDOWN_TIMEOUT_MS: '2500' }).shutdownTimeoutMs).toBe(2_500)
    for (const bad of ['10s', '-1', 'soon', '1e4'])
      expect(problemsOf({ GREENLIGHT_SHUTDOWN_TIMEOUT_MS: bad }), bad).toEqual(['GREENLIGHT_SHUTDOWN_TIMEOUT_MS'])
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
    expect(loadCliConfig({ GREENLIGHT_URL: 'http://h:1/', GREENLIGHT_TOKEN: 'glt_t' })).toMatchObject({
      url: 'http://h:1',
      token: 'glt_t',
    })
    expect(() => loadCliConfig({ GREENLIGHT_URL: 'nope' })).toThrow(ConfigError)
  })

  it('fails closed on a GREENLIGHT_TOKEN that is set but empty or not a token', () => {
    for (const token of ['', ' ', 't', 'glt_', 'glt_a b', 'Bearer glt_abc']) {
      try {
        loadCliConfig({ GREENLIGHT_TOKEN: token })
        expect.unreachable(`GREENLIGHT_TOKEN=${JSON.stringify(token)} was accepted`)
      } catch (error) {
        expect(error).toMatchObject({ code: 'invalid_cli_config', problems: [{ variable: 'GREENLIGHT_TOKEN' }] })
      }
    }
    expect(loadCliConfig({}).token).toBeUndefined()
    expect(loadCliConfig({ GREENLIGHT_TOKEN: ' glt_abc-_9\n' }).token).toBe('glt_abc-_9')
  })

  it('takes IP addresses and host names as HOST, and names what else it was given', () => {
    for (const host of ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost', 'greenlight.internal', 'a-1.b2.c']) {
      expect(parseHost(host)).toEqual({ host })
    }
    expect(parseHost('[::1]')).toEqual({ host: '::1' })
    expect(loadConfig({ HOST: '::1' }).publicUrl).toBe('http://[::1]:3000')
    expect(parseHost('http://0.0.0.0')).toMatchObject({ problem: expect.stringContaining('URL') })
    expect(parseHost('0.0.0.0:3000')).toMatchObject({ problem: expect.stringContaining('port') })
    for (const host of ['-a', 'a-', 'a..b', 'a b', '[127.0.0.1]', 'é.com', `${'a'.repeat(64)}.com`, '1.2.3.4.5:x']) {
      expect(parseHost(host), host).toHaveProperty('problem')
    }
    expect(problemsOf({ HOST: 'http://0.0.0.0' })).toEqual(['HOST'])
  })
})

describe(`HOST and GREENLIGHT_URL on random text (FUZZ_SEED=${SEED})`, () => {
  const random = createRandom(SEED)
  const hostChars = 'abcz019-.:[]_ /%@'

  it('accepts as HOST only what listen() can take: an IP address or host name that a URL keeps as written', () => {
    for (let i = 0; i < fuzzRuns(2000); i++) {
      const raw = random.string(1 + random.int(20), random.chance(0.8) ? hostChars : NASTY_CHARS)
      const label = `FUZZ_SEED=${SEED} #${i}: ${JSON.stringify(raw)}`
      const parsed = parseHost(raw)
      if (!('host' in parsed)) {
        expect(parsed.problem, label).toContain(raw)
        continue
      }
      const { host } = parsed
      if (isIP(host) === 0) {
        expect(host, label).toMatch(/^[A-Za-z0-9.-]{1,253}$/)
        expect(new URL(`http://${host}:1`).hostname, label).toBe(host.toLowerCase())
      } else {
        expect(new URL(`http://${host.includes(':') ? `[${host}]` : host}:1`).port, label).toBe('1')
      }
    }
  })

  it('accepts as GREENLIGHT_URL only http(s) URLs the client can append /api/v1 to', () => {
    const urlChars = 'htps:/.a1@?#[]%: '
    for (let i = 0; i < fuzzRuns(2000); i++) {
      const raw = random.chance(0.5)
        ? `${random.pick(['http://', 'https://', 'ftp://', ''])}${random.string(random.int(16), urlChars)}`
        : random.string(random.int(24), NASTY_CHARS)
      const label = `FUZZ_SEED=${SEED} #${i}: ${JSON.stringify(raw)}`
      const parsed = parseServerUrl(raw)
      if (!('url' in parsed)) {
        expect(parsed.fix, label).toContain('http')
        continue
      }
      const base = new URL(parsed.url)
      expect(['http:', 'https:'], label).toContain(base.protocol)
      expect(base.search + base.hash + base.username + base.password, label).toBe('')
      expect(parsed.url.endsWith('/'), label).toBe(false)
      expect(URL.canParse(`${parsed.url}/api/v1/runs`), label).toBe(true)
      expect(new URL(`${parsed.url}/api/v1/runs`).origin, label).toBe(base.origin)
    }
  })
})
