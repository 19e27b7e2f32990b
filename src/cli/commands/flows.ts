// `greenlight flows …`: validate (offline), push, list, show, diff, release, promote.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { FlowProblem } from '../../core/flow/index.ts'
import { AppError } from '../../errors.ts'
import { type Command, expectPositionals, positional, stringOption, usageError } from '../command.ts'

interface FileCheck {
  file: string
  source: string
  ok: boolean
  slug?: string
  problems: FlowProblem[]
}

/** Validates files locally; the validator (zod, yaml, jsonata) loads only here, so read-only commands start fast. */
async function checkFiles(cwd: string, files: string[], usage: string): Promise<FileCheck[]> {
  const { validateFlowSource } = await import('../../core/flow/validate.ts')
  if (files.length === 0) throw usageError('Give at least one flow file.', usage)
  return files.map((file) => {
    let source: string
    try {
      source = readFileSync(resolve(cwd, file), 'utf8')
    } catch (error) {
      throw new AppError(
        'file_unreadable',
        `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
        {
          status: 400,
          hint: 'Check the path.',
        },
      )
    }
    const result = validateFlowSource(source, file)
    return result.ok
      ? { file, source, ok: true, slug: result.flow.slug, problems: result.warnings }
      : { file, source, ok: false, problems: result.problems }
  })
}

async function invalidFiles(checks: FileCheck[]): Promise<AppError> {
  const { formatProblem } = await import('../../core/flow/problem.ts')
  const bad = checks.filter((c) => !c.ok)
  const first = bad[0]?.problems[0]
  return new AppError('invalid_flow', first ? formatProblem(first) : 'A flow file is invalid.', {
    status: 422,
    hint: first?.fix ?? 'Fix the problems listed in details.',
    details: { files: bad.map((c) => ({ file: c.file, problems: c.problems })) },
  })
}

export const validate: Command = {
  name: 'flows validate',
  usage: 'greenlight flows validate <file.yaml>…',
  summary: 'Validate flow files offline.',
  async run(ctx, args) {
    const checks = await checkFiles(ctx.cwd, args.positionals, this.usage)
    if (checks.some((c) => !c.ok)) throw await invalidFiles(checks)
    return {
      data: { files: checks.map((c) => ({ file: c.file, ok: true, slug: c.slug, warnings: c.problems })) },
      next: [`greenlight flows push ${args.positionals.join(' ')}`],
    }
  },
}

export const push: Command = {
  name: 'flows push',
  usage: 'greenlight flows push <file.yaml>…',
  summary: 'Store flow files as draft revisions.',
  async run(ctx, args) {
    // Validate every file first, so a bad file in the list pushes nothing.
    const checks = await checkFiles(ctx.cwd, args.positionals, this.usage)
    if (checks.some((c) => !c.ok)) throw await invalidFiles(checks)
    const api = ctx.api()
    const pushed = []
    for (const check of checks) {
      const { push: result } = (await api.post('/flows', { source: check.source, file: check.file })) as {
        push: { slug: string; revision: number; created: boolean }
      }
      pushed.push({ file: check.file, ...result })
    }
    return { data: { pushed }, next: pushed.map((p) => `greenlight flows release ${p.slug} --note "…"`) }
  },
}

export const list: Command = {
  name: 'flows list',
  usage: 'greenlight flows list',
  summary: 'List flows with their live version.',
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const data = await ctx.api().get('/flows')
    const flows = (data.flows as { slug: string }[]) ?? []
    return {
      data,
      next:
        flows.length > 0
          ? flows.slice(0, 3).map((f) => `greenlight flows show ${f.slug}`)
          : ['greenlight flows push examples/flows/*.yaml'],
    }
  },
}

export const show: Command = {
  name: 'flows show',
  usage: 'greenlight flows show <slug> [--ref draft|live|<version>|r<revision>] [--source]',
  summary: 'Show a flow, its versions and a revision.',
  options: { ref: { type: 'string' }, source: { type: 'boolean' } },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const slug = positional(args, 0, 'slug', this.usage)
    const ref = stringOption(args, 'ref')
    const data = await ctx
      .api()
      .get(`/flows/${encodeURIComponent(slug)}${ref ? `?ref=${encodeURIComponent(ref)}` : ''}`)
    const flow = data.flow as { shown: Record<string, unknown>; live_version: number | null }
    if (!args.values.source) delete flow.shown.source
    return {
      data,
      next: [
        `greenlight flows diff ${slug}`,
        flow.live_version === null ? `greenlight flows release ${slug}` : `greenlight runs start ${slug}`,
      ],
    }
  },
}

export const diff: Command = {
  name: 'flows diff',
  usage: 'greenlight flows diff <slug> [<from> [<to>]]   (refs: draft, live, 3 or v3, r5; default live → draft)',
  summary: 'Unified diff between two revisions.',
  options: { from: { type: 'string' }, to: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 3, this.usage)
    const slug = positional(args, 0, 'slug', this.usage)
    const from = stringOption(args, 'from') ?? args.positionals[1]
    const to = stringOption(args, 'to') ?? args.positionals[2]
    const query = new URLSearchParams({ ...(from ? { from } : {}), ...(to ? { to } : {}) }).toString()
    const data = await ctx.api().get(`/flows/${encodeURIComponent(slug)}/diff${query ? `?${query}` : ''}`)
    return { data, next: [`greenlight flows release ${slug} --note "…"`] }
  },
}

interface DeclaredInput {
  type?: string
  required?: boolean
  default?: unknown
  enum?: unknown[]
}

/**
 * `runs start <slug>` with a `name=<type>` placeholder (`name=<a|b>` for an enum) for each input a start must give:
 * required and without a default. Optional inputs are left out; `flows show` lists them.
 */
export function startCommand(slug: string, inputs: Record<string, DeclaredInput>): string {
  const needed = Object.entries(inputs).filter(([, def]) => def.required === true && def.default === undefined)
  const placeholders = needed.map(([name, def]) => {
    const shape = def.enum?.length ? def.enum.map((v) => String(v)).join('|') : (def.type ?? 'string')
    return `${name}=<${shape}>`
  })
  return ['greenlight runs start', slug, ...placeholders].join(' ')
}

export const release: Command = {
  name: 'flows release',
  usage: 'greenlight flows release <slug> [--note "…"] [--no-promote]',
  summary: 'Turn the draft into version N.',
  options: { note: { type: 'string' }, 'no-promote': { type: 'boolean' } },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const slug = positional(args, 0, 'slug', this.usage)
    const data = await ctx.api().post(`/flows/${encodeURIComponent(slug)}/release`, {
      note: stringOption(args, 'note'),
      promote: !args.values['no-promote'],
    })
    const { version, inputs } = data.release as { version: number; inputs?: Record<string, DeclaredInput> }
    return {
      data,
      next: args.values['no-promote']
        ? [`greenlight flows promote ${slug} ${version}`]
        : [startCommand(slug, inputs ?? {}), `greenlight flows show ${slug}`],
    }
  },
}

export const promote: Command = {
  name: 'flows promote',
  usage: 'greenlight flows promote <slug> <version>',
  summary: 'Make a released version live (rollback too).',
  async run(ctx, args) {
    expectPositionals(args, 2, this.usage)
    const slug = positional(args, 0, 'slug', this.usage)
    const raw = positional(args, 1, 'version', this.usage).replace(/^v/i, '')
    if (!/^\d+$/.test(raw) || Number(raw) < 1)
      throw usageError(`'${args.positionals[1]}' is not a version number.`, this.usage)
    const data = await ctx.api().post(`/flows/${encodeURIComponent(slug)}/promote`, { version: Number(raw) })
    return { data, next: [`greenlight flows show ${slug}`] }
  },
}
