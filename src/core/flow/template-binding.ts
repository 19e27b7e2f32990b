// Re-binding a template for another server: a new slug and connection names written into the flow source in place,
// and the command that creates each connection it still lacks. Pure, like the template parser.
import { isMap, isScalar, isSeq, parseDocument } from 'yaml'
import {
  type ConnectionRequirement,
  type FlowTemplate,
  NAME,
  SLUG,
  STEP_CONNECTION_TYPES,
  type TemplateRequirements,
} from './flow-template.ts'
import { isRecord } from './zod-issues.ts'

export interface Binding {
  /** A new slug for the imported flow. */
  slug?: string
  /** Template connection name → the connection of this server that stands for it. */
  bind?: Record<string, string>
}

export type BindResult =
  | { ok: true; source: string; slug: string; requires: TemplateRequirements }
  | { ok: false; code: string; message: string; hint: string }

/**
 * The template's source with its slug and connection names replaced (steps' `connection:` and requires.connections);
 * unchanged byte for byte when nothing is replaced.
 */
export function bindTemplate(template: FlowTemplate, binding: Binding): BindResult {
  const bind = binding.bind ?? {}
  const known = Object.keys(template.requires.connections)
  for (const [from, to] of Object.entries(bind)) {
    if (!known.includes(from)) {
      const listed = known.length > 0 ? `it requires ${known.join(', ')}` : 'it requires no connections'
      return {
        ok: false,
        code: 'unknown_binding',
        message: `The template has no connection '${from}' to bind: ${listed}.`,
        hint: 'Use --bind NAME=CONNECTION with NAME from requires.connections.',
      }
    }
    if (!NAME.safeParse(to).success) {
      return {
        ok: false,
        code: 'invalid_binding',
        message: `'${to}' is not a connection name.`,
        hint: 'Use lower-case letters, digits and _ . - (up to 63), starting with a letter.',
      }
    }
  }
  if (binding.slug !== undefined && !SLUG.test(binding.slug)) {
    return {
      ok: false,
      code: 'invalid_slug',
      message: `'${binding.slug}' is not a flow slug.`,
      hint: 'Use lower-case letters, digits, _ and - (up to 63), starting with a letter.',
    }
  }
  const connections: Record<string, ConnectionRequirement> = {}
  for (const [name, requirement] of Object.entries(template.requires.connections)) {
    const target = bind[name] ?? name
    if (connections[target] && connections[target].type !== requirement.type) {
      return {
        ok: false,
        code: 'invalid_binding',
        message: `Connections of types ${connections[target].type} and ${requirement.type} cannot both be bound to '${target}'.`,
        hint: 'Bind each to a connection of its type.',
      }
    }
    connections[target] = requirement
  }
  const requires = { connections, secrets: template.requires.secrets }
  const renames = Object.entries(bind).filter(([from, to]) => from !== to)
  const slug = binding.slug ?? template.slug
  if (renames.length === 0 && slug === template.slug) return { ok: true, source: template.source, slug, requires }
  const doc = parseDocument(template.source, { logLevel: 'error' })
  if (!isMap(doc.contents)) {
    return {
      ok: false,
      code: 'invalid_template',
      message: 'The template source is not a flow.',
      hint: 'Export it again.',
    }
  }
  // The scalars to replace, by their place in the text: the rest of the source (comments, layout) stays as written.
  const edits: { range: readonly [number, number]; text: string }[] = []
  const replace = (node: unknown, text: string | undefined) => {
    if (text !== undefined && isScalar(node) && node.range) edits.push({ range: [node.range[0], node.range[1]], text })
  }
  const rename = (node: unknown) => (isScalar(node) && typeof node.value === 'string' ? bind[node.value] : undefined)
  if (slug !== template.slug) replace(doc.contents.get('slug', true), slug)
  const listed = doc.getIn(['requires', 'connections'], true)
  if (isSeq(listed)) for (const item of listed.items) replace(item, rename(item))
  const steps = doc.get('steps', true)
  if (isSeq(steps)) {
    for (const step of steps.items) {
      if (!isMap(step)) continue
      for (const kind of Object.keys(STEP_CONNECTION_TYPES)) {
        const node = step.getIn([kind, 'connection'], true)
        replace(node, rename(node))
      }
    }
  }
  let source = template.source
  for (const edit of edits.sort((a, b) => b.range[0] - a.range[0])) {
    source = source.slice(0, edit.range[0]) + edit.text + source.slice(edit.range[1])
  }
  return { ok: true, source, slug, requires }
}

/**
 * The command that creates a missing connection from its requirement (its secrets are created first). Every value
 * from the file is shell-quoted: a template is someone else's text, and agents run `meta.next` commands. What the
 * exporter could not read becomes a `<placeholder>` to replace.
 */
export function bindingCommand(name: string, requirement: ConnectionRequirement): string {
  const c = requirement.config ?? {}
  const value = (v: unknown, placeholder: string) =>
    shellWord(typeof v === 'string' || typeof v === 'number' ? String(v) : placeholder)
  const base = `greenlight connections set ${name} --type ${requirement.type}`
  if (requirement.type === 'ssh') {
    const auth =
      typeof c.password_secret === 'string'
        ? `--password-secret ${value(c.password_secret, '')}`
        : `--key-secret ${value(c.private_key_secret, '<key secret>')}`
    const port = typeof c.port === 'number' && c.port !== 22 ? ` --port ${c.port}` : ''
    const where = `--host ${value(c.host, '<host>')}${port} --user ${value(c.user, '<user>')}`
    return `${base} ${where} ${auth} --host-key ${value(c.host_key, 'SHA256:<fingerprint>')}`
  }
  if (requirement.type === 'database') {
    const password = typeof c.password_secret === 'string' ? ` --password-secret ${value(c.password_secret, '')}` : ''
    return `${base} --url ${value(c.url, '<postgres://… or libsql://… or file:…>')}${password}`
  }
  const auth = isRecord(c.auth) ? c.auth : undefined
  const secret = value(auth?.secret, '<token secret>')
  const authFlags =
    auth?.type === 'header'
      ? ` --header-secret ${shellWord(`${String(auth.header)}=${String(auth.secret)}`)}`
      : auth?.type === 'basic'
        ? ` --basic-user ${value(auth.username, '<user>')} --basic-secret ${secret}`
        : auth === undefined && requirement.config !== null
          ? ''
          : ` --bearer-secret ${secret}`
  const headers = isRecord(c.headers)
    ? Object.entries(c.headers).map(([header, v]) => ` --header ${shellWord(`${header}=${String(v)}`)}`)
    : []
  return `${base} --base-url ${value(c.base_url, '<https://…>')}${authFlags}${headers.join('')}`
}

/** A word the shell passes through unchanged: as is when safe, else single-quoted. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`
}
