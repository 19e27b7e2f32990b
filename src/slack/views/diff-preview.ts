// A bounded preview of a unified diff: escaped code blocks cut on line boundaries, within a block and JSON budget.
import { type Block, context, jsonCost, LIMITS, section } from './blocks.ts'
import { escapeMrkdwn, stripControl, truncate } from './mrkdwn.ts'

export interface DiffStats {
  added: number
  removed: number
  lines: number
}

export interface DiffPreview {
  /** A context line with the counts (and the truncation note), then one code-block section per chunk. */
  blocks: Block[]
  stats: DiffStats
  shownLines: number
  truncated: boolean
}

/** Longest diff line shown; longer lines end with `…` (the full diff is in the thread file). */
const MAX_LINE = 300
const FENCE_OPEN = '```\n'
const FENCE_CLOSE = '\n```'
const CHUNK_RAW_MAX = LIMITS.sectionText - FENCE_OPEN.length - FENCE_CLOSE.length
/** JSON of an empty chunk section plus the comma before it. */
const CHUNK_OVERHEAD = JSON.stringify(section(FENCE_OPEN + FENCE_CLOSE)).length + 1
/** JSON of the counts line at its longest. */
const NOTE_RESERVE = 260

export function diffLines(diff: string): string[] {
  const lines = stripControl(diff).split('\n')
  if (lines.at(-1) === '') lines.pop()
  return lines
}

const HUNK = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/

/** Counts added and removed lines, following hunk headers so `--- a/x` file headers are not counted as removals. */
export function diffStats(lines: readonly string[]): DiffStats {
  let added = 0
  let removed = 0
  let oldLeft = 0
  let newLeft = 0
  let sawHunk = false
  for (const line of lines) {
    const hunk = HUNK.exec(line)
    if (hunk) {
      sawHunk = true
      oldLeft = Number(hunk[1] ?? 1)
      newLeft = Number(hunk[2] ?? 1)
    } else if (oldLeft > 0 || newLeft > 0) {
      if (line.startsWith('+')) {
        added++
        newLeft--
      } else if (line.startsWith('-')) {
        removed++
        oldLeft--
      } else if (!line.startsWith('\\')) {
        oldLeft--
        newLeft--
      }
    }
  }
  if (sawHunk) return { added, removed, lines: lines.length }
  // Not a unified diff with hunks: count marked lines, skipping the usual file headers.
  for (const line of lines) {
    if (line.startsWith('+') && !line.startsWith('+++ ')) added++
    else if (line.startsWith('-') && !line.startsWith('--- ')) removed++
  }
  return { added, removed, lines: lines.length }
}

/** One line as shown inside a mrkdwn code block: shortened, escaped, and unable to close the fence. */
function displayLine(line: string): string {
  return escapeMrkdwn(truncate(line, MAX_LINE)).replace(/```/g, '``\u200b`')
}

export function diffNote(stats: DiffStats, shownLines: number): string {
  const counts = `+${stats.added} −${stats.removed} lines`
  return shownLines >= stats.lines
    ? `📄 ${counts}`
    : `📄 ${counts}, preview of ${shownLines} of ${stats.lines} lines; full diff in the thread file`
}

/**
 * Builds the preview within `budget`: at most `blocks` blocks and `jsonChars` characters of blocks JSON
 * (including the commas between blocks). The preview is always a prefix of the diff.
 */
export function diffPreview(diff: string, budget: { jsonChars: number; blocks: number }): DiffPreview {
  const lines = diffLines(diff)
  const stats = diffStats(lines)
  const chunks: string[][] = []
  let jsonLeft = budget.jsonChars - NOTE_RESERVE
  let blocksLeft = budget.blocks - 1
  let current: string[] | null = null
  let raw = 0
  let shown = 0
  for (const line of lines) {
    const text = displayLine(line)
    const cost = jsonCost(text) + 2
    if (current !== null && raw + 1 + text.length <= CHUNK_RAW_MAX && cost <= jsonLeft) {
      current.push(text)
      raw += 1 + text.length
    } else if (blocksLeft > 0 && CHUNK_OVERHEAD + cost <= jsonLeft) {
      current = [text]
      chunks.push(current)
      raw = text.length
      jsonLeft -= CHUNK_OVERHEAD
      blocksLeft--
    } else break
    jsonLeft -= cost
    shown++
  }
  if (budget.blocks < 1) return { blocks: [], stats, shownLines: 0, truncated: stats.lines > 0 }
  const blocks = [context(diffNote(stats, shown))]
  for (const chunk of chunks) blocks.push(section(`${FENCE_OPEN}${chunk.join('\n')}${FENCE_CLOSE}`))
  return { blocks, stats, shownLines: shown, truncated: shown < stats.lines }
}
