// The approval and flow diffs as HTML: parsed and rendered by diff2html, split into pages of lines so a 5 MB diff opens
// at once, long unchanged context folded, and code highlighted on the server (so it reads the same without JS).

import { createRequire } from 'node:module'
import { parse as parseDiff, html as renderDiff } from 'diff2html'
import { ColorSchemeType, type DiffBlock, type DiffFile } from 'diff2html/lib/types.js'

/**
 * highlight.js's type declarations pull the DOM library into the whole program (its Headers and fetch types then
 * clash with Node's), so it is loaded untyped and given the two functions used here.
 */
interface Highlighter {
  getLanguage(name: string): unknown
  highlight(code: string, options: { language: string | undefined; ignoreIllegals: boolean }): { value: string }
}
const hljs = createRequire(import.meta.url)('highlight.js/lib/common') as Highlighter

export type DiffLayout = 'unified' | 'split'

/** Lines rendered per page: the first screen of any diff costs the same. */
export const PAGE_LINES = 500
/** A run of unchanged lines longer than this is folded to its first and last `CONTEXT_KEPT` lines. */
const FOLD_OVER = 12
const CONTEXT_KEPT = 3

export interface DiffFileSummary {
  index: number
  name: string
  oldName: string
  added: number
  deleted: number
  /** The page the file starts on (1-based). */
  page: number
  status: 'added' | 'deleted' | 'renamed' | 'changed' | 'binary'
}

/** One page's pieces: a file's blocks (already cut and folded) from `files[file]`. */
interface PagePiece {
  file: number
  blocks: DiffBlock[]
}

export interface ParsedDiff {
  files: DiffFileSummary[]
  pages: PagePiece[][]
  added: number
  deleted: number
  lines: number
  parsed: DiffFile[]
}

const fileStatus = (f: DiffFile): DiffFileSummary['status'] =>
  f.isBinary ? 'binary' : f.isNew ? 'added' : f.isDeleted ? 'deleted' : f.isRename ? 'renamed' : 'changed'

/** Splits a block where unchanged context runs long, so the page shows a fold line instead of those lines. */
function foldContext(block: DiffBlock): DiffBlock[] {
  const out: DiffBlock[] = []
  let current: DiffBlock = { ...block, lines: [] }
  const lines = block.lines
  for (let i = 0; i < lines.length; ) {
    if (lines[i]?.type !== 'context') {
      current.lines.push(lines[i] as DiffBlock['lines'][number])
      i++
      continue
    }
    let end = i
    while (end < lines.length && lines[end]?.type === 'context') end++
    const run = end - i
    const keepHead = i === 0 ? 0 : CONTEXT_KEPT
    const keepTail = end === lines.length ? 0 : CONTEXT_KEPT
    if (run > FOLD_OVER && run - keepHead - keepTail > 0) {
      current.lines.push(...lines.slice(i, i + keepHead))
      if (current.lines.length > 0) out.push(current)
      const hidden = run - keepHead - keepTail
      current = { ...block, header: `⋯ ${hidden} unchanged line${hidden === 1 ? '' : 's'} folded`, lines: [] }
      current.lines.push(...lines.slice(end - keepTail, end))
    } else current.lines.push(...lines.slice(i, end))
    i = end
  }
  if (current.lines.length > 0 || out.length === 0) out.push(current)
  return out
}

/** Parses a unified diff and cuts it into pages of at most `PAGE_LINES` lines, files and hunks split where needed. */
export function paginateDiff(text: string, options: { fold?: boolean; pageLines?: number } = {}): ParsedDiff {
  const pageLines = options.pageLines ?? PAGE_LINES
  const parsed = parseDiff(text)
  const pages: PagePiece[][] = [[]]
  let used = 0
  let totalLines = 0
  const files: DiffFileSummary[] = []
  parsed.forEach((file, index) => {
    const blocks = options.fold === false ? file.blocks : file.blocks.flatMap(foldContext)
    files.push({
      index,
      name: file.newName === '/dev/null' ? file.oldName : file.newName,
      oldName: file.oldName,
      added: file.addedLines,
      deleted: file.deletedLines,
      page: pages.length,
      status: fileStatus(file),
    })
    let piece: PagePiece = { file: index, blocks: [] }
    ;(pages[pages.length - 1] as PagePiece[]).push(piece)
    for (const block of blocks) {
      let rest = block.lines
      let header = block.header
      while (true) {
        if (used >= pageLines) {
          pages.push([])
          used = 0
          piece = { file: index, blocks: [] }
          ;(pages[pages.length - 1] as PagePiece[]).push(piece)
        }
        const room = pageLines - used
        const part = rest.slice(0, room)
        piece.blocks.push({ ...block, header, lines: part })
        used += part.length + 1
        totalLines += part.length
        rest = rest.slice(room)
        if (rest.length === 0) break
        header = `${block.header} (continued)`
      }
    }
    if (blocks.length === 0) used += 1
  })
  return {
    files,
    pages,
    parsed,
    lines: totalLines,
    added: files.reduce((n, f) => n + f.added, 0),
    deleted: files.reduce((n, f) => n + f.deleted, 0),
  }
}

const ENTITY: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#x27;': "'",
  '&#39;': "'",
  '&#x2F;': '/',
  '&#x60;': '`',
  '&#x3D;': '=',
}
const unescapeHtml = (s: string): string =>
  s.replace(/&(?:amp|lt|gt|quot|#x27|#39|#x2F|#x60|#x3D);/g, (e) => ENTITY[e] ?? e)

/** Highlights the code of lines diff2html rendered as plain text; lines with word-level marks keep those instead. */
function highlight(fragment: string, language: string): string {
  const lang = language && hljs.getLanguage(language) ? language : undefined
  if (!lang) return fragment
  return fragment.replace(/(<span class="d2h-code-line-ctn">)([^<]*)(<\/span>)/g, (_all, open, body, close) => {
    if (body === '' || body.length > 2000) return `${open}${body}${close}`
    return `${open}${hljs.highlight(unescapeHtml(body), { language: lang, ignoreIllegals: true }).value}${close}`
  })
}

/** One page of the diff as HTML: each file piece in a section with an anchor, rendered by diff2html. */
export function renderDiffPage(diff: ParsedDiff, page: number, layout: DiffLayout): string {
  const pieces = diff.pages[page - 1] ?? []
  return pieces
    .map((piece) => {
      const file = diff.parsed[piece.file] as DiffFile
      const rendered = renderDiff([{ ...file, blocks: piece.blocks }], {
        outputFormat: layout === 'split' ? 'side-by-side' : 'line-by-line',
        drawFileList: false,
        matching: 'lines',
        diffStyle: 'word',
        colorScheme: ColorSchemeType.LIGHT,
        renderNothingWhenEmpty: false,
      })
      return `<section class="diff-file" id="file-${piece.file + 1}" aria-label="${escapeAttr(diff.files[piece.file]?.name ?? '')}">${highlight(rendered, file.language)}</section>`
    })
    .join('\n')
}

const escapeAttr = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Parsed diffs by content key (a digest or resource id), so paging through one parses it once. */
export function createDiffCache(capacity = 8) {
  const cache = new Map<string, ParsedDiff>()
  return async (key: string, text: () => Promise<string | undefined>, fold: boolean): Promise<ParsedDiff | null> => {
    const k = `${fold ? 'f' : 'a'}:${key}`
    const hit = cache.get(k)
    if (hit) {
      cache.delete(k)
      cache.set(k, hit)
      return hit
    }
    const source = await text()
    if (source === undefined) return null
    const parsed = paginateDiff(source, { fold })
    if (cache.size >= capacity) cache.delete(cache.keys().next().value as string)
    cache.set(k, parsed)
    return parsed
  }
}
