// Parses the text of `/gl …` into a command; anything it cannot read becomes `help` with the reason.

export type GlCommand =
  | { name: 'run'; slug: string; inputs: Record<string, string>; draft: boolean }
  | { name: 'list' }
  | { name: 'status'; run: string }
  | { name: 'cancel'; run: string }
  | { name: 'approvals' }
  | { name: 'release'; slug: string; note: string | null }
  | { name: 'promote'; slug: string; version: number }
  | { name: 'help'; problem: string | null }

export const USAGE = [
  '`/gl run <flow> [key=value …] [--draft]` start a run',
  '`/gl list` flows you can start',
  '`/gl status <run>` where a run stands',
  '`/gl cancel <run>` cancel a run',
  '`/gl approvals` approvals waiting on you',
  '`/gl release <flow> [note]` / `/gl promote <flow> <version>` (admins)',
  '`/gl help` this list',
].join('\n')

/** Splits on spaces, keeping "quoted values" and key="quoted values" together. */
function words(text: string): string[] {
  return [...text.matchAll(/(?:[^\s"“”]+|["“][^"”]*["”])+/g)].map((m) => m[0].replace(/["“”]/g, ''))
}

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
          if (eq <= 0) return help(`\`${arg}\` is not key=value.`)
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
      return help(`\`${typed}\` is not a /gl command.`)
  }
}
