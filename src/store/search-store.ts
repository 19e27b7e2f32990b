// The full-text index (FTS5 table `search_index`, drizzle/0008): triggers fill it in the transaction that writes what
// it indexes, so this side only reads. Best first by bm25.
//
// The user's query matches the body column alone (`{body} : (…)`: a column filter inside it cannot reach kind or flow).
// Filters are ANDed into the same MATCH on the indexed kind and flow columns, so the index narrows the matches instead
// of a scan reading every matching row; `+flow = ?` then drops a slug that only shares the filter's words (`a_b` vs
// `a_b_c`).
import { invalidQuery, KINDS_OF_SCOPE, type SearchHit, type SearchIndex } from '../engine/search.ts'
import type { Database } from './database.ts'
import type { SqlArg } from './sql-connection.ts'

const SNIPPET_TOKENS = 16
/** Matches ranked per query, the newest: bounds a query for a word most rows have (see search()). */
export const RANKED_MATCHES = 2000
const ALL_KINDS = new Set(Object.values(KINDS_OF_SCOPE).flat())

/** An FTS5 phrase of the words of `text` (`"leaky search"` for leaky_search): quotes doubled, never operators. */
const phrase = (text: string) => `"${text.replaceAll('"', '""')}"`

export function createSearchIndex(database: Database): SearchIndex {
  const { sql } = database
  return {
    async search(query) {
      const kinds = [...new Set(query.in.flatMap((scope) => KINDS_OF_SCOPE[scope]))]
      const filters: string[] = []
      if (kinds.length < ALL_KINDS.size) filters.push(`kind : (${kinds.join(' OR ')})`)
      const args: SqlArg[] = []
      let where = 'search_index MATCH ?'
      if (query.flow !== null) {
        // A slug with no word characters cannot be a phrase; the equality alone filters it.
        if (/[\p{L}\p{N}]/u.test(query.flow)) filters.push(`flow : ${phrase(query.flow)}`)
        where += ' AND +flow = ?'
        args.push(query.flow)
      }
      let rows: unknown[][]
      try {
        let match = `{body} : (${query.query})`
        if (filters.length > 0) {
          // Parsed alone first: a query valid only once wrapped (`a) OR (b`) would escape the filters.
          await sql.row('SELECT rowid FROM search_index WHERE body MATCH ? LIMIT 1', [query.query])
          match = `${match} AND ${filters.join(' AND ')}`
        }
        // bm25 costs about a microsecond per match: a word in most rows would take 100 ms over 100,000 of them. Only
        // the newest RANKED_MATCHES matches are ranked: the rowid of the oldest of them bounds the ranked query (the
        // walk to it reads the doclists, no ranking).
        const oldest = await sql.row(
          `SELECT rowid FROM search_index WHERE ${where} ORDER BY rowid DESC LIMIT 1 OFFSET ${RANKED_MATCHES - 1}`,
          [match, ...args],
        )
        const from = oldest === undefined ? 0 : Number(oldest[0])
        rows = await sql.rows(
          `SELECT kind, ref, run_id, flow, step, snippet(search_index, 0, '[', ']', '…', ${SNIPPET_TOKENS}), rank
           FROM search_index WHERE ${where} AND rowid >= CAST(? AS INTEGER) ORDER BY rank LIMIT ?`,
          [match, ...args, from, query.limit],
        )
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        if (/fts5|syntax error|no such column|unterminated|unknown special query/i.test(message))
          throw invalidQuery(`The search query is not valid FTS5 syntax: ${message}`, { query: query.query })
        throw error
      }
      const hits = rows.map(
        ([kind, ref, run, flow, step, snippet, rank]): SearchHit => ({
          kind: kind as SearchHit['kind'],
          id: String(ref),
          run: (run as string | null) ?? null,
          flow: (flow as string | null) ?? null,
          step: (step as string | null) ?? null,
          snippet: String(snippet ?? ''),
          // bm25 is lower for better matches; negated so a higher score is a better hit.
          score: -Number(rank),
        }),
      )
      return { hits }
    },
  }
}
