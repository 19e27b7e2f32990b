// `greenlight serve`: starts the server, prints one JSON document when ready, runs until SIGINT/SIGTERM.
import { ConfigError, loadConfig } from '../../config.ts'
import { startServer } from '../../main.ts'
import type { Command } from '../command.ts'
import { expectPositionals } from '../command.ts'

export const serve: Command = {
  name: 'serve',
  usage: 'greenlight serve',
  summary: 'Run the server (HTTP API, callbacks, Slack).',
  async run(ctx, args) {
    expectPositionals(args, 0, this.usage)
    let config: ReturnType<typeof loadConfig>
    try {
      config = loadConfig(ctx.env)
    } catch (error) {
      // People starting a server read stderr first: give them the whole list there too.
      if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`)
      throw error
    }
    const server = await startServer(config)
    const next = [
      'npx greenlight flows push examples/flows/*.yaml',
      'npx greenlight flows list',
      'npx greenlight --help',
    ]
    process.stderr.write(
      `\nGreenlight is listening on ${server.url}\nThe CLI on this machine uses the token in ${server.cliTokenPath}. Try:\n${next.map((n) => `  ${n}`).join('\n')}\n\n`,
    )
    ctx.emit({
      ok: true,
      data: {
        server: { url: server.url, pid: process.pid, cli_token_file: server.cliTokenPath, status: 'listening' },
      },
      meta: { next },
    })
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve()
      ctx.signal.addEventListener('abort', () => resolve(), { once: true })
    })
    server.logger.info('shutting down: draining in-flight requests and steps')
    const { drained } = await server.close()
    server.logger.info({ drained }, 'stopped')
    return { data: { server: { url: server.url, status: 'stopped', drained } }, emitted: true }
  },
}
