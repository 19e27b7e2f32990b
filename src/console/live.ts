// Server-sent events for the run and approval pages: one `change` event each time the engine reports the run changed.
import type { EventEmitter } from 'node:events'
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'

const HEARTBEAT_MS = 15_000

export function createLive(changes: EventEmitter) {
  const open = new Set<() => void>()
  return {
    stream(c: Context, runId: string) {
      c.header('cache-control', 'no-store')
      c.header('x-accel-buffering', 'no')
      return streamSSE(c, async (stream) => {
        let end: () => void = () => {}
        const ended = new Promise<void>((resolve) => {
          end = resolve
        })
        const onRun = (id: string) => {
          if (id === runId) void stream.writeSSE({ event: 'change', data: id }).catch(end)
        }
        const beat = setInterval(() => void stream.write(': keep-alive\n\n').catch(end), HEARTBEAT_MS)
        open.add(end)
        changes.on('run', onRun)
        stream.onAbort(end)
        try {
          await stream.writeSSE({ event: 'ready', data: runId, retry: 1000 })
          await ended
        } finally {
          clearInterval(beat)
          changes.off('run', onRun)
          open.delete(end)
        }
      })
    },
    /** Ends every open stream, so a shutdown does not wait on pages left open. */
    closeAll(): void {
      for (const end of [...open]) end()
    },
  }
}
