// Text helpers for Slack mrkdwn: escaping untrusted text, safe truncation, mentions, dates and durations.

/** Escapes the only three characters mrkdwn treats specially, so `<!channel>` or `<url|label>` stay literal. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Removes control characters other than tab and newline (they bloat JSON and render as garbage). */
export function stripControl(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
const WINDOW = 32

/** The last grapheme boundary at or before `limit`, never inside a surrogate pair. */
function boundaryAtOrBefore(text: string, limit: number): number {
  // Fast path: between two characters below U+0300 (no combining marks, joiners or surrogates) is always a boundary.
  const before = text.charCodeAt(limit - 1)
  const after = text.charCodeAt(limit)
  if (limit === 0 || (before < 0x300 && after < 0x300 && !(before === 13 && after === 10))) return limit
  const start = Math.max(0, limit - WINDOW)
  let best = -1
  for (const { index } of graphemes.segment(text.slice(start, limit + WINDOW))) {
    if (start + index > limit) break
    best = start + index
  }
  // A grapheme longer than the window (zalgo text, long emoji sequences): fall back to code points.
  if (best <= start && start > 0) best = limit
  const code = text.charCodeAt(best - 1)
  if (code >= 0xd800 && code <= 0xdbff) best -= 1
  return Math.max(0, best)
}

/** Shortens `text` to at most `max` UTF-16 units, ending with `…`; never splits a surrogate pair or grapheme. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  if (max < 1) return ''
  return `${text.slice(0, boundaryAtOrBefore(text, max - 1))}…`
}

/**
 * Truncates mrkdwn without leaving half a `<…>` link or mention, half an `&amp;` entity, or an open code fence.
 * The result is at most `max` characters.
 */
export function truncateMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text
  // Room for the ellipsis and a closing fence, added below when needed.
  let cut = truncate(text, Math.max(1, max - 4)).slice(0, -1)
  const open = cut.lastIndexOf('<')
  if (open > cut.lastIndexOf('>')) cut = cut.slice(0, open)
  const amp = cut.lastIndexOf('&')
  if (amp >= 0 && /^&[#a-zA-Z0-9]*$/.test(cut.slice(amp))) cut = cut.slice(0, amp)
  const fences = cut.split('```').length - 1
  return fences % 2 === 1 ? `${cut}…\n\`\`\`` : `${cut}…`
}

/** Turns `<!channel>`, `<!here>`, `<!everyone>` (and `<!subteam^…>`) into visible text so they ping nobody. */
export function defangBroadcasts(mrkdwn: string): string {
  return mrkdwn.replace(/<!(channel|here|everyone|subteam\^[^>]*)([^>]*)>/g, '&lt;!$1$2&gt;')
}

const SLACK_USER_ID = /^(?:slack:)?([UW][A-Z0-9]+)$/

/** `<@U…>` for a Slack user id (optionally `slack:`-prefixed), the escaped text for other actors (`token:ci`). */
export function mention(actor: string): string {
  const m = SLACK_USER_ID.exec(actor)
  return m ? `<@${m[1]}>` : escapeMrkdwn(actor)
}

/** Mentions a list of actors, at most `max` of them, then `and N more`. */
export function mentionList(actors: readonly string[], max = 20, separator = ', '): string {
  const shown = actors.slice(0, max).map(mention).join(separator)
  return actors.length > max ? `${shown} and ${actors.length - max} more` : shown
}

/** Slack's localized date: `<!date^1700000000^{date_short_pretty} {time}|2023-11-14 22:13 UTC>`. */
export function slackDate(ms: number, format = '{date_short_pretty} {time}'): string {
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`
  return `<!date^${Math.floor(ms / 1000)}^${format}|${fallback}>`
}

/** A compact duration: `850ms`, `42s`, `5m 3s`, `2h 5m`, `3d 4h`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms))
  if (total < 1000) return `${total}ms`
  const s = Math.floor(total / 1000)
  const units: [number, string][] = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor(s / 3600) % 24, 'h'],
    [Math.floor(s / 60) % 60, 'm'],
    [s % 60, 's'],
  ]
  const first = units.findIndex(([n]) => n > 0)
  return units
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ')
}

/** `just now`, `5m ago`, `2h 5m ago`. */
export function formatAge(ms: number, now: number): string {
  return now - ms < 60_000 ? 'just now' : `${formatDuration(Math.floor((now - ms) / 60_000) * 60_000)} ago`
}

/** Inline code for an identifier; backticks inside would end the code span, so they become quotes. */
export function code(text: string): string {
  return `\`${escapeMrkdwn(text.replace(/`/g, "'")) || ' '}\``
}

/** `agent_fix@v3`, or `agent_fix@draft` for a run on an unreleased revision. */
export function flowRef(slug: string, version: number | null): string {
  return `${slug}@${version === null ? 'draft' : `v${version}`}`
}
