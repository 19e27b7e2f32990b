// `greenlight flows export` and `flows import`: a flow revision as a template another team imports, binding what it
// requires (connections, secrets) to what their server has, and told the command that binds each missing one.
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { FlowTemplate, TemplateRequirements } from '../../core/flow/flow-template.ts'
import type { FlowDefinition } from '../../core/flow/index.ts'
import type { FlowProblem } from '../../core/flow/problem.ts'
import type { Binding } from '../../core/flow/template-binding.ts'
import { AppError } from '../../errors.ts'
import type { ApiClient } from '../client.ts'
import { type Command, expectPositionals, positional, stringOption, usageError } from '../command.ts'

const VERSION = /^v?(\d+)$/i

/** A connection's type and configuration as the server keeps it; undefined when it has none or may not say. */
async function connectionOf(api: ApiClient, name: string): Promise<{ type: string; config: unknown } | undefined> {
  try {
    const { connection } = (await api.get(`/connections/${encodeURIComponent(name)}`)) as {
      connection: { type: string; config: unknown }
    }
    return connection
  } catch (error) {
    // Not found, or a token without admin: the template still lists the connection, with its type from the steps.
    if (error instanceof AppError && (error.status === 404 || error.status === 403)) return undefined
    throw error
  }
}

export const exportFlow: Command = {
  name: 'flows export',
  usage: 'greenlight flows export <slug> [--version N] [--out <file.yaml>]',
  summary: 'Write a flow version as a template (source, requirements, content hash).',
  options: { version: { type: 'string' }, out: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const slug = positional(args, 0, 'slug', this.usage)
    const version = stringOption(args, 'version')
    if (version !== undefined && !VERSION.test(version))
      throw usageError(`'${version}' is not a version number.`, this.usage)
    const ref = version === undefined ? '' : `?ref=${VERSION.exec(version)?.[1]}`
    const api = ctx.api()
    const { flow } = (await api.get(`/flows/${encodeURIComponent(slug)}${ref}`)) as {
      flow: { shown: { version: number | null; revision: number; source: string } }
    }
    const { validateFlowSource } = await import('../../core/flow/validate.ts')
    const { buildTemplate, connectionsOf } = await import('../../core/flow/flow-template.ts')
    const checked = validateFlowSource(flow.shown.source, `${slug}.yaml`)
    if (!checked.ok) {
      throw new AppError('invalid_flow', `The stored source of '${slug}' no longer validates.`, {
        hint: 'Push a fixed revision, then export it.',
        details: { problems: checked.problems },
      })
    }
    const definition: FlowDefinition = checked.flow
    const connections: Record<string, { type: string; config: unknown } | undefined> = {}
    for (const name of connectionsOf(definition).keys()) connections[name] = await connectionOf(api, name)
    const { template, text } = buildTemplate({
      source: flow.shown.source,
      flow: definition,
      exportedFrom: { version: flow.shown.version, revision: flow.shown.revision },
      connections,
    })
    const out = stringOption(args, 'out')
    if (out !== undefined) writeTemplate(resolve(ctx.cwd, out), text)
    return {
      data: {
        export: {
          slug,
          version: flow.shown.version,
          revision: flow.shown.revision,
          content_hash: template.content_hash,
          requires: template.requires,
          ...(out === undefined ? { template: text } : { file: out }),
        },
      },
      next: [`greenlight flows import ${out ?? '<file.yaml>'} --slug ${slug}`],
    }
  },
}

function writeTemplate(path: string, text: string): void {
  try {
    writeFileSync(path, text)
  } catch (error) {
    throw new AppError('file_unwritable', `Cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? error}.`, {
      status: 400,
      hint: 'Check the directory exists and is writable.',
    })
  }
}

function bindings(raw: unknown, usage: string): Record<string, string> {
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]
  const out: Record<string, string> = {}
  for (const item of list.map(String)) {
    const at = item.indexOf('=')
    if (at <= 0 || at === item.length - 1) throw usageError(`--bind takes NAME=CONNECTION, got '${item}'.`, usage)
    out[item.slice(0, at)] = item.slice(at + 1)
  }
  return out
}

export const importFlow: Command = {
  name: 'flows import',
  usage: 'greenlight flows import <template.yaml> [--slug S] [--bind NAME=CONNECTION …] [--allow-modified]',
  summary: 'Push a template as a draft and list what it still needs bound.',
  options: {
    slug: { type: 'string' },
    bind: { type: 'string', multiple: true },
    'allow-modified': { type: 'boolean' },
  },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const file = positional(args, 0, 'template.yaml', this.usage)
    const bind = bindings(args.values.bind, this.usage)
    const { template, modified } = await readTemplate(ctx.cwd, file, args.values['allow-modified'] === true)
    const slug = stringOption(args, 'slug')
    const bound = await bindChecked(template, file, { ...(slug === undefined ? {} : { slug }), bind })
    const api = ctx.api()
    const { push } = (await api.post('/flows', { source: bound.source, file })) as {
      push: { slug: string; revision: number; created: boolean; content_hash: string }
    }
    const { unbound, checked } = await unboundRequirements(api, bound.requires)
    return {
      data: {
        import: {
          file,
          slug: push.slug,
          revision: push.revision,
          created: push.created,
          template_hash: template.content_hash,
          modified,
          bound: bind,
          requirements_checked: checked,
          unbound,
        },
      },
      next: [...unbound.map((u) => u.command), `greenlight flows release ${push.slug} --note "from a template"`],
    }
  },
}

async function invalidTemplate(file: string, problems: FlowProblem[], hint: string): Promise<AppError> {
  const { formatProblem } = await import('../../core/flow/problem.ts')
  const first = problems[0]
  return new AppError('invalid_template', first ? formatProblem(first) : `${file} is not a valid template.`, {
    status: 422,
    hint: first?.fix ?? hint,
    details: { file, problems },
  })
}

/** The file's template, checked offline; one changed since its export only with --allow-modified. */
async function readTemplate(cwd: string, file: string, allowModified: boolean) {
  const { parseTemplate } = await import('../../core/flow/flow-template.ts')
  let text: string
  try {
    text = readFileSync(resolve(cwd, file), 'utf8')
  } catch (error) {
    throw new AppError('file_unreadable', `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}.`, {
      status: 400,
      hint: 'Check the path.',
    })
  }
  const parsed = parseTemplate(text, file)
  if (!parsed.ok) throw await invalidTemplate(file, parsed.problems, 'Fix the problems listed in details.')
  const modified = !parsed.hashMatches
  if (modified && !allowModified) {
    throw new AppError(
      'template_modified',
      `${file} was changed after it was exported: its content_hash does not match.`,
      {
        status: 422,
        hint: 'Export it again from its source, or pass --allow-modified to import the changed file as it is.',
        details: { file, content_hash: parsed.template.content_hash },
      },
    )
  }
  return { template: parsed.template, modified }
}

/** The source with --slug and --bind applied, validated again as the flow it now is. */
async function bindChecked(template: FlowTemplate, file: string, binding: Binding) {
  const { bindTemplate } = await import('../../core/flow/template-binding.ts')
  const { validateFlowSource } = await import('../../core/flow/validate.ts')
  const bound = bindTemplate(template, binding)
  if (!bound.ok) throw new AppError(bound.code, bound.message, { status: 400, hint: bound.hint })
  const rebound = validateFlowSource(bound.source, file)
  if (!rebound.ok) throw await invalidTemplate(file, rebound.problems, 'Check --slug and --bind.')
  return bound
}

interface Unbound {
  kind: 'connection' | 'secret'
  name: string
  /** missing, or (a connection) one of another type under that name; a secret's value goes on stdin. */
  reason: 'missing' | 'wrong_type'
  type?: string
  /** The command that binds it (a connection's configuration is the exporter's: change what differs here). */
  command: string
}

/** Each secret then each connection the flow needs and the server lacks, in the order they must be created. */
async function unboundRequirements(
  api: ApiClient,
  requires: TemplateRequirements,
): Promise<{ unbound: Unbound[]; checked: boolean }> {
  const { bindingCommand } = await import('../../core/flow/template-binding.ts')
  let connections: { name: string; type: string }[] = []
  let secrets: { name: string }[] = []
  let checked = true
  try {
    connections = ((await api.get('/connections')) as { connections: { name: string; type: string }[] }).connections
    secrets = ((await api.get('/secrets')) as { secrets: { name: string }[] }).secrets
  } catch (error) {
    if (!(error instanceof AppError && error.status === 403)) throw error
    // Without admin the server will not list them: every requirement is reported, unchecked.
    checked = false
  }
  const haveSecret = new Set(secrets.map((s) => s.name))
  const missing: Unbound[] = []
  // A connection the server has brings its own secrets; only those of the connections still to create are needed.
  const needed = new Set(requires.secrets)
  for (const [name, requirement] of Object.entries(requires.connections)) {
    const have = connections.find((c) => c.name === name)
    if (have && have.type === requirement.type) continue
    for (const secret of requirement.secrets) needed.add(secret)
    missing.push({
      kind: 'connection',
      name,
      reason: have ? 'wrong_type' : 'missing',
      type: requirement.type,
      command: bindingCommand(name, requirement),
    })
  }
  const unbound: Unbound[] = [...needed]
    .filter((name) => !haveSecret.has(name))
    .sort()
    .map((name) => ({ kind: 'secret', name, reason: 'missing', command: `greenlight secrets set ${name}` }))
  unbound.push(...missing)
  return { unbound, checked }
}
