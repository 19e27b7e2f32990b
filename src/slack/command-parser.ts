// Parses the text of `/gl …`, as Slack escapes it, into a command; anything it cannot read becomes `help` with the reason.

export type GlCommand =
  | { name: 'run'; slug: string; inputs: Record<string, string>; draft: boolean }
  | { name: 'list' }
  | { name: 'status'; run: string }
  | { name: 'cancel'; run: string }
  | { name: 'approvals' }
  | { name: 'console' }
  | { name: 'release'; slug: string; note: string | null }
  | { name: 'promote'; slug: string; version: number }
  | { name: 'help'; problem: string | null }

export const USAGE = [
  '`/gl run <flow> [key=value …] [--draft]` start a run',
  '`/gl list` flows you can start',
  '`/gl status <run>` where a run stands',
  '`/gl cancel <run>` cancel a run',
  '`/gl approvals` approvals waiting on you',
  '`/gl console` a one-time link to the web console, signed in as you',
  '`/gl release <flow> [note]` / `/gl promote <flow> <version>` (admins)',
  '`/gl help` this list',
].join('\n')

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>' }

/** Slack's three entities back to characters, in one pass: `&amp;lt;` (a user typed `&lt;`) stays `&lt;`. */
const unescapeEntities = (text: string): string => text.replace(/&(?:amp|lt|gt);/g, (e) => ENTITIES[e] ?? e)

/**
 * What one of Slack's control sequences (`<…>`, brackets removed) names: a user, channel or user group by its id,
 * a link by its URL (a mail link by its address), a special mention (`<!here>`) as typed, a date by its fallback.
 */
function controlValue(inner: string): string {
  const bar = inner.indexOf('|')
  const target = bar === -1 ? inner : inner.slice(0, bar)
  const label = bar === -1 ? null : inner.slice(bar + 1)
  if (target.startsWith('@') || target.startsWith('#')) return unescapeEntities(target.slice(1))
  if (target.startsWith('!subteam^')) return unescapeEntities(target.slice('!subteam^'.length))
  if (target.startsWith('!')) return unescapeEntities(label ?? `@${target.slice(1)}`)
  if (target.startsWith('mailto:')) return unescapeEntities(target.slice('mailto:'.length))
  return unescapeEntities(target)
}

/** Undoes Slack's escaping of a span: control sequences become what they name, entities become characters. */
const unescapeSlack = (span: string): string =>
  span
    .split(/(<[^<>]*>)/)
    .map((part, i) => (i % 2 === 1 ? controlValue(part.slice(1, -1)) : unescapeEntities(part)))
    .join('')

/** Quote characters and what closes them (typed, or turned "smart" by an autocorrecting keyboard). */
const QUOTES: Record<string, string> = { '"': '"”', '“': '"”', "'": "'’", '‘': "'’" }

/**
 * Splits Slack's escaped text on spaces, keeping "quoted" and 'quoted' values and Slack's `<…>` sequences (whose
 * labels may hold spaces) inside one word, then unescapes each word. A single quote opens only at the start of a word
 * or after `=`, so an apostrophe (it's) stays a character; a quote that is never closed is a character too.
 */
function words(text: string): string[] {
  const out: string[] = []
  let raw: string | null = null
  const add = (chars: string) => {
    raw = (raw ?? '') + chars
  }
  for (let i = 0; i < text.length; ) {
    const c = text[i] as string
    if (/\s/.test(c)) {
      if (raw !== null) out.push(unescapeSlack(raw))
      raw = null
      i++
      continue
    }
    if (c === '<') {
      const close = text.indexOf('>', i)
      if (close !== -1 && !text.slice(i + 1, close).includes('<')) {
        add(text.slice(i, close + 1))
        i = close + 1
        continue
      }
    }
    const closers = QUOTES[c]
    const opens = c === '"' || c === '“' || raw === null || (raw as string).endsWith('=')
    if (closers && opens) {
      let close = -1
      for (let j = i + 1; j < text.length && close === -1; j++) if (closers.includes(text[j] as string)) close = j
      if (close !== -1) {
        add(text.slice(i + 1, close))
        i = close + 1
        continue
      }
    }
    add(c)
    i++
  }
  if (raw !== null) out.push(unescapeSlack(raw))
  return out
}

/** Typed text echoed back in a reply, in code and escaped so it cannot mention or link anything. */
const typedBack = (text: string): string =>
  `\`${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}\``

const help = (problem: string | null): GlCommand => ({ name: 'help', problem })

export function parseGlCommand(text: string): GlCommand {
  const [typed, ...rest] = words(text.slice(0, 4000).trim())
  // Verbs are case-insensitive; every branch below reads the lowercased one.
  const verb = (typed ?? '').toLowerCase()
  switch (verb) {
    case '':
    case 'help':
      return help(null)
    case 'list':
      return rest.length === 0 ? { name: 'list' } : help('`list` takes no arguments.')
    case 'approvals':
      return rest.length === 0 ? { name: 'approvals' } : help('`approvals` takes no arguments.')
    case 'console':
      return rest.length === 0 ? { name: 'console' } : help('`console` takes no arguments.')
    case 'status':
    case 'cancel': {
      const run = rest[0]
      if (rest.length !== 1 || !run || !/^run_[0-9A-Z]{26}$/.test(run))
        return help(`\`${verb}\` needs one run id (run_…).`)
      return { name: verb === 'status' ? 'status' : 'cancel', run }
    }
    case 'run': {
      const [slug, ...args] = rest
      if (!slug || slug.includes('=')) return help('`run` needs a flow slug first.')
      const inputs: Record<string, string> = {}
      let draft = false
      for (const arg of args) {
        if (arg === '--draft') draft = true
        else {
          const eq = arg.indexOf('=')
          if (eq <= 0) return help(`${typedBack(arg)} is not key=value.`)
          inputs[arg.slice(0, eq)] = arg.slice(eq + 1)
        }
      }
      return { name: 'run', slug, inputs, draft }
    }
    case 'release': {
      const [slug, ...note] = rest
      return slug
        ? { name: 'release', slug, note: note.length > 0 ? note.join(' ') : null }
        : help('`release` needs a flow slug.')
    }
    case 'promote': {
      const [slug, version] = rest
      const n = Number((version ?? '').replace(/^v/i, ''))
      if (!slug || !Number.isInteger(n) || n < 1 || rest.length !== 2)
        return help('`promote` needs a flow slug and a version number.')
      return { name: 'promote', slug, version: n }
    }
    default:
      return help(`${typedBack(typed ?? '')} is not a /gl command.`)
  }
}
