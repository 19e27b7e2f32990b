// `greenlight search "<query>"`: full-text search over runs, events, resources and flow sources.
import { type Command, expectPositionals, listOption, positional, stringOption } from '../command.ts'

export const search: Command = {
  name: 'search',
  usage: 'greenlight search "<query>" [--in runs|resources|flows] [--flow <slug>] [--limit <n>]',
  summary: 'Full-text search over runs, events, resources and flow sources.',
  options: { in: { type: 'string', multiple: true }, flow: { type: 'string' }, limit: { type: 'string' } },
  async run(ctx, args) {
    expectPositionals(args, 1, this.usage)
    const query = positional(args, 0, 'query', this.usage)
    const params = new URLSearchParams({ q: query })
    for (const scope of listOption(args, 'in')) params.append('in', scope)
    const flow = stringOption(args, 'flow')
    if (flow !== undefined) params.set('flow', flow)
    const limit = stringOption(args, 'limit')
    if (limit !== undefined) params.set('limit', limit)
    const data = (await ctx.api().get(`/search?${params}`)) as { hits: { run: string | null }[] }
    const runs = [...new Set(data.hits.flatMap((h) => (h.run ? [h.run] : [])))].slice(0, 3)
    return { data, next: runs.map((run) => `greenlight runs show ${run}`) }
  },
}
