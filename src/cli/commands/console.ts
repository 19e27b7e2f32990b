// `greenlight console login`: a one-time web console URL (10 minutes, used once) signed in as this CLI's token.
import { type Command, expectPositionals } from '../command.ts'

export const login: Command = {
  name: 'console login',
  usage: 'greenlight console login',
  summary: 'Print a one-time URL that signs the browser into the web console as this token.',
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    const data = (await ctx.api().post('/console/login', {})) as { url: string; expires_at: string; as: string }
    return { data }
  },
}
