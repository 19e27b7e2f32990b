// Paging and folding of diffs keep every line once and within a page's budget; rendered code stays text.
import { describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed } from '../../test/support/fuzz-env.ts'
import { paginateDiff, renderDiffPage } from './diff-view.ts'

function fileDiff(name: string, lines: string[]): string {
  const old = lines.filter((l) => !l.startsWith('+')).length
  const now = lines.filter((l) => !l.startsWith('-')).length
  return `diff --git a/${name} b/${name}\n--- a/${name}\n+++ b/${name}\n@@ -1,${old} +1,${now} @@\n${lines.join('\n')}\n`
}

describe('paginateDiff', () => {
  it('keeps every line exactly once across pages of at most pageLines lines, files pointing at their first page (randomized)', () => {
    const seed = fuzzSeed(99)
    const rnd = createRandom(seed)
    for (let run = 0; run < fuzzRuns(40); run++) {
      const where = `FUZZ_SEED=${seed} run ${run}`
      const files = 1 + rnd.int(6)
      let text = ''
      let expected = 0
      for (let f = 0; f < files; f++) {
        const lines = Array.from({ length: 1 + rnd.int(300) }, (_, i) => `${rnd.pick([' ', '+', '-'])}line ${f}.${i}`)
        expected += lines.length
        text += fileDiff(`src/f${f}.ts`, lines)
      }
      const pageLines = 5 + rnd.int(200)
      const diff = paginateDiff(text, { fold: false, pageLines })
      const perPage = diff.pages.map((p) =>
        p.reduce((n, piece) => n + piece.blocks.reduce((m, b) => m + b.lines.length, 0), 0),
      )
      expect(
        perPage.every((n) => n <= pageLines),
        where,
      ).toBe(true)
      expect(
        perPage.reduce((a, b) => a + b, 0),
        where,
      ).toBe(expected)
      const seen = diff.pages.flatMap((p) =>
        p.flatMap((piece) => piece.blocks.flatMap((b) => b.lines.map((l) => l.content))),
      )
      expect(new Set(seen).size, where).toBe(expected)
      for (const file of diff.files)
        expect(
          diff.pages[file.page - 1]?.some((p) => p.file === file.index),
          where,
        ).toBe(true)
    }
  })

  it('folds a long run of unchanged lines to three on each side, with the count in the fold line', () => {
    const lines = ['-a', '+b', ...Array.from({ length: 40 }, (_, i) => ` same ${i}`), '-c', '+d']
    const diff = paginateDiff(fileDiff('x.ts', lines))
    const blocks = diff.pages[0]?.[0]?.blocks ?? []
    expect(blocks.map((b) => b.lines.length)).toEqual([5, 5])
    expect(blocks[1]?.header).toBe('⋯ 34 unchanged lines folded')
    expect(blocks[1]?.lines[0]).toMatchObject({ content: ' same 37', oldNumber: 39, newNumber: 39 })
    expect(paginateDiff(fileDiff('x.ts', lines), { fold: false }).pages[0]?.[0]?.blocks).toHaveLength(1)
  })

  it('renders code as text: markup in a diff never becomes markup, highlighted or not', () => {
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    for (const name of ['a.ts', 'a.unknownext']) {
      const diff = paginateDiff(fileDiff(name, [`-const x = "${evil}"`, `+const y = 1`, ` ${evil}`]))
      for (const layout of ['unified', 'split'] as const) {
        const html = renderDiffPage(diff, 1, layout)
        expect(html).not.toContain('<script>')
        expect(html).not.toContain('<img')
        expect(html).toContain('&lt;script&gt;')
      }
    }
    expect(renderDiffPage(paginateDiff(fileDiff('a.ts', [' const a = 1'])), 1, 'unified')).toContain('hljs-keyword')
  })
})
