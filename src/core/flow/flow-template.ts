// Flow templates: one YAML document holding a flow's source, what it requires (connections with their type and
// non-secret configuration, secret names) and a content hash; built for `flows export`, parsed and checked for
// `flows import` (template-binding.ts re-binds it). Pure: no I/O, never throws on bad input (problems are located).
import { createHash } from 'node:crypto'
import { type Document, isMap, isScalar, LineCounter, parseDocument, Scalar, stringify } from 'yaml'
import { z } from 'zod'
import { errorMessage } from '../../errors.ts'
import { canonicalJson } from '../hash-chain.ts'
import type { FlowDefinition } from './model.ts'
import { type FlowProblem, formatPath, type PendingProblem } from './problem.ts'
import { validateFlowSource } from './validate.ts'
import { YamlLocator } from './yaml-locate.ts'
import { findTooDeep, positionOf } from './yaml-nesting.ts'
import { isRecord, issuesToProblems } from './zod-issues.ts'

export const TEMPLATE_FORMAT = 'greenlight.flow-template/v1'
export const CONNECTION_TYPES = ['ssh', 'http', 'database'] as const
export type ConnectionType = (typeof CONNECTION_TYPES)[number]

/** The steps that name a connection, and the connection type each needs (llm calls an http API). */
export const STEP_CONNECTION_TYPES = { ssh: 'ssh', http: 'http', llm: 'http', db: 'database' } as const

export const SLUG = /^[a-z][a-z0-9_-]{0,62}$/
export const NAME = z
  .string()
  .regex(/^[a-z][a-z0-9_.-]{0,62}$/, 'a connection or secret name (lower-case, digits, _ . -)')

const connectionRequirement = z
  .object({
    type: z.enum(CONNECTION_TYPES).meta({ description: 'ssh, http or database' }),
    /** The exporter's configuration (secret names, never values), or null when it could not be read. */
    config: z.record(z.string(), z.unknown()).nullable().default(null),
    secrets: z.array(NAME).max(20).default([]),
  })
  .strict()

const requirements = z
  .object({
    connections: z.record(NAME, connectionRequirement).default({}),
    /** Secrets the flow names itself (a webhook's), besides those its connections name. */
    secrets: z.array(NAME).max(50).default([]),
  })
  .strict()

const templateSchema = z
  .object({
    format: z.literal(TEMPLATE_FORMAT),
    slug: z.string().min(1).max(63),
    name: z.string().max(500).optional(),
    description: z.string().max(20_000).optional(),
    exported_from: z.object({ version: z.number().int().nullable(), revision: z.number().int() }).strict().optional(),
    requires: requirements.default({ connections: {}, secrets: [] }),
    content_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256: and 64 lower-case hex digits'),
    source: z.string().min(1).max(1_000_000),
  })
  .strict()

export type ConnectionRequirement = z.infer<typeof connectionRequirement>
export type TemplateRequirements = z.infer<typeof requirements>
export type FlowTemplate = z.infer<typeof templateSchema>

export type TemplateParseResult =
  | { ok: true; template: FlowTemplate; flow: FlowDefinition; hashMatches: boolean }
  | { ok: false; problems: FlowProblem[] }

/** What the hash covers: the flow source byte for byte and the requirements (canonical JSON, so key order is free). */
export function templateHash(source: string, requires: TemplateRequirements): string {
  const digest = createHash('sha256').update(canonicalJson({ source, requires })).digest('hex')
  return `sha256:${digest}`
}

/** Every connection a flow names (requires and steps), with the type its steps need (undefined: only listed). */
export function connectionsOf(flow: FlowDefinition): Map<string, ConnectionType | undefined> {
  const found = new Map<string, ConnectionType | undefined>()
  for (const name of flow.requires?.connections ?? []) found.set(name, undefined)
  for (const step of flow.steps) {
    for (const [kind, type] of Object.entries(STEP_CONNECTION_TYPES)) {
      const body = (step as Record<string, unknown>)[kind]
      if (isRecord(body) && typeof body.connection === 'string') found.set(body.connection, type)
    }
  }
  return found
}

/** The secret names a connection configuration holds: every `secret` or `*_secret` string, at any depth. */
export function secretNamesIn(config: unknown): string[] {
  const names = new Set<string>()
  const walk = (value: unknown, depth: number) => {
    if (!isRecord(value) || depth > 4) return
    for (const [key, inner] of Object.entries(value)) {
      if ((key === 'secret' || key.endsWith('_secret')) && typeof inner === 'string') names.add(inner)
      else walk(inner, depth + 1)
    }
  }
  walk(config, 0)
  return [...names].sort()
}

export interface TemplateInput {
  source: string
  flow: FlowDefinition
  exportedFrom?: { version: number | null; revision: number }
  /** What the server knows of each connection the flow names (undefined: not found or not readable). */
  connections: Record<string, { type: string; config: unknown } | undefined>
}

/** The template of a flow revision, as YAML text with a header saying how to import it. */
export function buildTemplate(input: TemplateInput): { template: FlowTemplate; text: string } {
  const connections: Record<string, ConnectionRequirement> = {}
  for (const [name, needed] of [...connectionsOf(input.flow)].sort(([a], [b]) => a.localeCompare(b))) {
    const known = input.connections[name]
    const knownType = CONNECTION_TYPES.find((t) => t === known?.type)
    const type = knownType ?? needed ?? 'http'
    const config = knownType && isRecord(known?.config) ? known.config : null
    connections[name] = { type, config, secrets: secretNamesIn(config) }
  }
  const webhookSecret = input.flow.triggers?.webhook?.secret
  const requires: TemplateRequirements = { connections, secrets: webhookSecret ? [webhookSecret] : [] }
  const template: FlowTemplate = {
    format: TEMPLATE_FORMAT,
    slug: input.flow.slug,
    ...(input.flow.name ? { name: input.flow.name } : {}),
    ...(input.flow.description ? { description: input.flow.description } : {}),
    ...(input.exportedFrom ? { exported_from: input.exportedFrom } : {}),
    requires,
    content_hash: templateHash(input.source, requires),
    source: input.source,
  }
  const header =
    `# A Greenlight flow template. Import it with: greenlight flows import <this file> [--slug S] [--bind NAME=CONNECTION]\n` +
    `# The import checks content_hash against source and requires; an edited file is refused unless --allow-modified.\n`
  return { template, text: header + stringify(template, { lineWidth: 0, blockQuote: 'literal' }) }
}

const MAX_TEMPLATE_CHARS = 2_000_000

/** Parses and checks a template file; the flow inside is validated too, its problems placed in the template file. */
export function parseTemplate(text: string, file = '<template>'): TemplateParseResult {
  try {
    return parse(text, file)
  } catch (error) {
    return fail(file, 1, 1, 'internal_error', `the template check failed: ${errorMessage(error)}`, 'report a bug')
  }
}

type Parsed = { doc: Document; lines: LineCounter } | { problems: FlowProblem[] }

/** The YAML document of a template file, or the first reason it is not one (bounds first: hostile input is cheap). */
function readDocument(text: string, file: string): Parsed {
  const problem = (offset: number, code: string, message: string, fix: string) => {
    const { line, column } = positionOf(text, offset)
    return { problems: [{ file, line, column, path: '', code, message, fix }] }
  }
  if (typeof text !== 'string' || text.length > MAX_TEMPLATE_CHARS) {
    return problem(0, 'too_large', `a template is text of at most ${MAX_TEMPLATE_CHARS} characters`, 'export again')
  }
  const nul = text.indexOf('\u0000')
  if (nul >= 0) return problem(nul, 'control_character', 'the file contains a NUL character', 'remove it')
  const deep = findTooDeep(text)
  if (deep !== undefined) return problem(deep, 'nesting_too_deep', 'nested too deep for a template', 'export again')
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, logLevel: 'error', uniqueKeys: true })
  const syntax = [...doc.errors, ...doc.warnings][0]
  if (!syntax) return { doc, lines }
  const position = syntax.linePos?.[0] ?? lines.linePos(syntax.pos[0])
  const message = syntax.message.split('\n')[0] || 'invalid YAML'
  const fix = 'fix the YAML syntax at this position'
  const at = { line: Math.max(1, position.line), column: Math.max(1, position.col) }
  return { problems: [{ file, ...at, path: '', code: 'yaml_syntax', message, fix }] }
}

function parse(text: string, file: string): TemplateParseResult {
  const read = readDocument(text, file)
  if ('problems' in read) return { ok: false, problems: read.problems }
  const { doc, lines } = read
  const locator = new YamlLocator(doc, lines, text)
  const place = (p: PendingProblem): FlowProblem => {
    const at =
      p.target === 'key'
        ? locator.key(p.path)
        : p.target === 'missing'
          ? locator.missing(p.path)
          : locator.value(p.path)
    return { file, ...at, path: formatPath(p.path), code: p.code, message: p.message, fix: p.fix }
  }
  const refuse = (path: (string | number)[], code: string, message: string, fix: string): TemplateParseResult => ({
    ok: false,
    problems: [place({ path, target: 'value', code, message, fix })],
  })
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: 50 })
  } catch (error) {
    return refuse([], 'yaml_alias', `too many aliases: ${errorMessage(error)}`, 'write the values out')
  }
  if (!isRecord(data) || data.format !== TEMPLATE_FORMAT) {
    const message = `not a Greenlight flow template (it starts with format: ${TEMPLATE_FORMAT})`
    const fix = 'export the flow with greenlight flows export, or push a plain flow file with greenlight flows push'
    return refuse(isRecord(data) && data.format !== undefined ? ['format'] : [], 'not_a_template', message, fix)
  }
  const parsed = templateSchema.safeParse(data)
  if (!parsed.success) {
    return { ok: false, problems: issuesToProblems(parsed.error.issues, data, templateSchema).slice(0, 20).map(place) }
  }
  const template = parsed.data
  const flow = validateFlowSource(template.source, file)
  if (!flow.ok) return { ok: false, problems: flow.problems.map((p) => inTemplate(p, doc, lines, text, locator)) }
  if (flow.flow.slug !== template.slug) {
    const message = `the template's slug '${template.slug}' differs from its flow's slug '${flow.flow.slug}'`
    return refuse(['slug'], 'slug_mismatch', message, 'export the template again')
  }
  for (const [name, needed] of connectionsOf(flow.flow)) {
    const listed = template.requires.connections[name]
    if (listed === undefined) {
      const message = `the flow uses connection '${name}', which the template does not list`
      return refuse(
        ['requires', 'connections'],
        'unlisted_connection',
        message,
        `add ${name} under requires.connections`,
      )
    }
    if (needed !== undefined && listed.type !== needed) {
      const message = `connection '${name}' is listed as ${listed.type}, but the flow's steps need ${needed}`
      return refuse(
        ['requires', 'connections', name, 'type'],
        'connection_type_mismatch',
        message,
        `set type: ${needed}`,
      )
    }
  }
  const hashMatches = templateHash(template.source, template.requires) === template.content_hash
  return { ok: true, template, flow: flow.flow, hashMatches }
}

/**
 * A problem of the flow inside `source:` placed in the template file: a literal block (`source: |`, what export
 * writes) maps line for line, shifted by its first line and indentation; any other scalar points at `source`.
 */
function inTemplate(
  problem: FlowProblem,
  doc: Document,
  lines: LineCounter,
  text: string,
  locator: YamlLocator,
): FlowProblem {
  const node = isMap(doc.contents) ? doc.contents.get('source', true) : undefined
  const path = problem.path ? `source: ${problem.path}` : 'source'
  if (isScalar(node) && node.type === Scalar.BLOCK_LITERAL && node.range) {
    const header = lines.linePos(node.range[0]).line
    const firstLine = text.slice(node.range[0]).split('\n')[1] ?? ''
    const indent = firstLine.length - firstLine.trimStart().length
    return { ...problem, line: header + problem.line, column: problem.column + indent, path }
  }
  return { ...problem, ...locator.value(['source']), path }
}

function fail(
  file: string,
  line: number,
  column: number,
  code: string,
  message: string,
  fix: string,
): TemplateParseResult {
  return {
    ok: false,
    problems: [{ file, line: Math.max(1, line), column: Math.max(1, column), path: '', code, message, fix }],
  }
}
