import { describe, expect, it } from 'vitest'
import { parseGlCommand } from './command-parser.ts'

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
})
