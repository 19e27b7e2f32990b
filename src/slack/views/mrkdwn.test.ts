// Escaping, safe truncation, mentions, dates and durations for mrkdwn.
import { describe, expect, it } from 'vitest'
import {
  code,
  defangBroadcasts,
  escapeMrkdwn,
  flowRef,
  formatAge,
  formatDuration,
  mention,
  mentionList,
  slackDate,
  stripControl,
  truncate,
  truncateMrkdwn,
} from './mrkdwn.ts'

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

describe('escapeMrkdwn', () => {
  it('escapes exactly &, < and >', () => {
    expect(escapeMrkdwn('<!channel> & <https://evil|click> *b* `c`')).toBe(
      '&lt;!channel&gt; &amp; &lt;https://evil|click&gt; *b* `c`',
    )
    expect(escapeMrkdwn('&amp;')).toBe('&amp;amp;')
  })
})

describe('truncate', () => {
  it('keeps short text and marks cut text with an ellipsis', () => {
    expect(truncate('abc', 3)).toBe('abc')
    expect(truncate('abcdef', 4)).toBe('abc…')
    expect(truncate('abcdef', 0)).toBe('')
  })

  it('never splits a surrogate pair or a grapheme, at any length', () => {
    const text = 'a😀b👨‍👩‍👧c🇳🇴d😀😀é̃xyz'.repeat(3)
    for (let max = 1; max <= text.length; max++) {
      const out = truncate(text, max)
      expect(out.length).toBeLessThanOrEqual(max)
      expect(out).not.toMatch(LONE_SURROGATE)
    }
    // One grapheme longer than the look-back window: still cut between code points, never inside a pair.
    const parts = ['😀', '\u200d', '\u0301', '\u{E0061}', '🏴', '\u{1F3FB}', 'a', '\uFE0F']
    const seq = '43227512155323732317732557027404510376163720364443362'
    const chain = [...seq].map((d) => parts[Number(d)]).join('')
    for (let max = 1; max <= chain.length; max++) expect(truncate(chain, max)).not.toMatch(LONE_SURROGATE)
    expect(truncate('ab👨‍👩‍👧cd', 6)).toBe('ab…')
    expect(truncate('😀'.repeat(10), 6)).toBe('😀😀…')
  })
})

describe('truncateMrkdwn', () => {
  it('does not leave half a link, mention or entity, and closes an open code fence', () => {
    expect(truncateMrkdwn(`hi <@U123456> ${'x'.repeat(50)}`, 14)).toBe('hi …')
    expect(truncateMrkdwn(`a &amp; ${'x'.repeat(50)}`, 8)).toBe('a …')
    const fenced = truncateMrkdwn(`\`\`\`\n${'line\n'.repeat(100)}\`\`\``, 60)
    expect(fenced.length).toBeLessThanOrEqual(60)
    expect(fenced.endsWith('…\n```')).toBe(true)
    expect(fenced.split('```')).toHaveLength(3)
  })
})

describe('mentions and identifiers', () => {
  it('mentions Slack users and shows other actors as escaped text', () => {
    expect(mention('U0123ABC')).toBe('<@U0123ABC>')
    expect(mention('slack:W42XYZ')).toBe('<@W42XYZ>')
    expect(mention('token:ci<bot>')).toBe('token:ci&lt;bot&gt;')
    expect(mention('schedule:nightly')).toBe('schedule:nightly')
    expect(mentionList(['U1AA', 'U2BB', 'U3CC'], 2)).toBe('<@U1AA>, <@U2BB> and 1 more')
  })

  it('defangs broadcast mentions but keeps user mentions and dates', () => {
    expect(defangBroadcasts('<!channel> <!here|here> <@U1> <!date^1^{time}|x>')).toBe(
      '&lt;!channel&gt; &lt;!here|here&gt; <@U1> <!date^1^{time}|x>',
    )
  })

  it('formats code spans, flow refs and control characters', () => {
    expect(code('a`b<c')).toBe("`a'b&lt;c`")
    expect(flowRef('agent_fix', 3)).toBe('agent_fix@v3')
    expect(flowRef('agent_fix', null)).toBe('agent_fix@draft')
    expect(stripControl('a\r\nb\u0000c\u001bd\te')).toBe('a\nbcd\te')
  })
})

describe('dates and durations', () => {
  it('uses Slack date tokens with a UTC fallback', () => {
    expect(slackDate(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe(
      `<!date^${Date.UTC(2026, 0, 2, 3, 4, 5) / 1000}^{date_short_pretty} {time}|2026-01-02 03:04 UTC>`,
    )
  })

  it('formats durations with the two largest units', () => {
    expect(formatDuration(850)).toBe('850ms')
    expect(formatDuration(42_000)).toBe('42s')
    expect(formatDuration(303_000)).toBe('5m 3s')
    expect(formatDuration(7_500_000)).toBe('2h 5m')
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000 + 5_000)).toBe('3d 4h')
    expect(formatDuration(3_600_000)).toBe('1h')
    expect(formatAge(0, 30_000)).toBe('just now')
    expect(formatAge(0, 7_530_000)).toBe('2h 5m ago')
  })
})
