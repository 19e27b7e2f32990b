import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, NASTY_CHARS } from '../../test/support/fuzz-env.ts'
import { parseGlCommand, USAGE } from './command-parser.ts'

/** What Slack does to what a user typed before it posts the command: `&`, `<`, `>` become entities. */
const slackEscape = (typed: string): string => typed.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

describe('parseGlCommand', () => {
  it('reads run with inputs, quotes and --draft', () => {
    expect(parseGlCommand('run fix-bug repo=acme/api issue=42 title="two words" --draft')).toEqual({
      name: 'run',
      slug: 'fix-bug',
      inputs: { repo: 'acme/api', issue: '42', title: 'two words' },
      draft: true,
    })
  })

  it('reads the other commands', () => {
    expect(parseGlCommand('list')).toEqual({ name: 'list' })
    expect(parseGlCommand('status run_01JABCDEFGHJKMNPQRSTVWXYZ0')).toEqual({
      name: 'status',
      run: 'run_01JABCDEFGHJKMNPQRSTVWXYZ0',
    })
    // Verbs are case-insensitive, and a status never turns into a cancel.
    for (const verb of ['Status', 'STATUS', 'sTaTuS']) {
      expect(parseGlCommand(`${verb} run_01JABCDEFGHJKMNPQRSTVWXYZ0`)).toEqual({
        name: 'status',
        run: 'run_01JABCDEFGHJKMNPQRSTVWXYZ0',
      })
    }
    expect(parseGlCommand('Cancel run_01JABCDEFGHJKMNPQRSTVWXYZ0')).toMatchObject({ name: 'cancel' })
    expect(parseGlCommand('promote agent_fix v3')).toEqual({ name: 'promote', slug: 'agent_fix', version: 3 })
    expect(parseGlCommand('release agent_fix ship it')).toEqual({ name: 'release', slug: 'agent_fix', note: 'ship it' })
  })

  it('answers anything else with help and the reason', () => {
    expect(parseGlCommand('deploy now')).toMatchObject({ name: 'help', problem: expect.stringContaining('deploy') })
    expect(parseGlCommand('run')).toMatchObject({ name: 'help' })
    expect(parseGlCommand('run flow notakv')).toMatchObject({ name: 'help' })
    expect(parseGlCommand('status nope')).toMatchObject({ name: 'help' })
    expect(parseGlCommand('promote x y')).toMatchObject({ name: 'help' })
  })

  it('never throws on random text', () => {
    let seed = 7
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const alphabet = 'run list status cancel promote =-"“” \t\n\u0000é🚀run_01J'
    for (let i = 0; i < 1000; i++) {
      const text = Array.from(
        { length: Math.floor(rand() * 60) },
        () => alphabet[Math.floor(rand() * alphabet.length)],
      ).join('')
      expect(() => parseGlCommand(text), `seed case ${i}: ${JSON.stringify(text)}`).not.toThrow()
    }
  })

  it('reads text the way Slack escapes it: entities back to characters', () => {
    expect(parseGlCommand(slackEscape('run x url=https://a.example/?a=1&b=2 cmp=a<b>c'))).toEqual({
      name: 'run',
      slug: 'x',
      inputs: { url: 'https://a.example/?a=1&b=2', cmp: 'a<b>c' },
      draft: false,
    })
    // A user who typed an entity gets the entity, not the character it names.
    expect(parseGlCommand(slackEscape('run x v=&lt;b&gt;&amp;'))).toMatchObject({ inputs: { v: '&lt;b&gt;&amp;' } })
  })

  it('turns mentions, channels, links and user groups into what they name', () => {
    const text =
      'run x who=<@U0ADA|ada> bot=<@W0BOT> ch=<#C0ENG|eng-bots> bare=<#C0OPS> ' +
      'docs=<https://a.example/?a=1&amp;b=2|the docs> site=<https://b.example/x> team=<!subteam^S0OPS|@ops> ' +
      'mail=<mailto:ada@example.com|ada@example.com>'
    expect(parseGlCommand(text)).toEqual({
      name: 'run',
      slug: 'x',
      inputs: {
        who: 'U0ADA',
        bot: 'W0BOT',
        ch: 'C0ENG',
        bare: 'C0OPS',
        docs: 'https://a.example/?a=1&b=2',
        site: 'https://b.example/x',
        team: 'S0OPS',
        mail: 'ada@example.com',
      },
      draft: false,
    })
    // A label with spaces stays inside its value; a mention inside quotes becomes the id too.
    expect(parseGlCommand('run x link=<https://a.example|click here now> note="for <@U0ADA|ada>"')).toMatchObject({
      inputs: { link: 'https://a.example', note: 'for U0ADA' },
    })
    expect(parseGlCommand('release x <!here> ships')).toEqual({ name: 'release', slug: 'x', note: '@here ships' })
  })

  it('reads single-quoted values like double-quoted ones', () => {
    expect(parseGlCommand("run deploy note='hello world' title=‘smart quotes’ --draft")).toEqual({
      name: 'run',
      slug: 'deploy',
      inputs: { note: 'hello world', title: 'smart quotes' },
      draft: true,
    })
    expect(parseGlCommand(`run deploy a='say "hi"' b="it's"`)).toMatchObject({ inputs: { a: 'say "hi"', b: "it's" } })
    // An apostrophe inside a word opens no quote.
    expect(parseGlCommand("release deploy it's Bob's fix")).toEqual({
      name: 'release',
      slug: 'deploy',
      note: "it's Bob's fix",
    })
  })

  it('gives back any typed value exactly, through Slack escaping and quotes (randomized)', () => {
    const seed = fuzzSeed(1414)
    const rnd = createRandom(seed)
    const valueChars = `${NASTY_CHARS.replaceAll('"', '')}<@U1|a>&amp;|!^#`
    for (let i = 0; i < fuzzRuns(500); i++) {
      const value = rnd.string(rnd.int(30), valueChars)
      const key = rnd.pick(['k', 'note', 'url', 'a_b'])
      const text = slackEscape(`run flow_${i} ${key}="${value}"`)
      const where = `FUZZ_SEED=${seed} case ${i}: ${JSON.stringify(text)}`
      expect(parseGlCommand(text), where).toEqual({
        name: 'run',
        slug: `flow_${i}`,
        inputs: { [key]: value },
        draft: false,
      })
    }
  })

  it('never throws, and answers unknown input with usage (randomized)', () => {
    const seed = fuzzSeed(2024)
    const rnd = createRandom(seed)
    const alphabet = `${NASTY_CHARS}'‘’“”<>|@#!^&amp;&lt;&gt; run list status cancel promote`
    const names = ['run', 'list', 'status', 'cancel', 'approvals', 'release', 'promote', 'help']
    for (let i = 0; i < fuzzRuns(2000); i++) {
      const text = rnd.string(rnd.int(80), alphabet)
      const where = `FUZZ_SEED=${seed} case ${i}: ${JSON.stringify(text)}`
      const parsed = parseGlCommand(text)
      expect(names, where).toContain(parsed.name)
      // Text whose first word holds no verb is never anything but help.
      const first = text.trim().split(/\s/)[0]?.toLowerCase() ?? ''
      if (!names.some((n) => first.includes(n))) expect(parsed.name, where).toBe('help')
    }
    expect(parseGlCommand('<@U1|ada> run x')).toMatchObject({ name: 'help', problem: expect.stringContaining('U1') })
    expect(USAGE).toContain('/gl run')
  })
})
