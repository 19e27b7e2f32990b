// kv: get | set | delete | incr | append on the durable store, applied in the same transaction as the step's result.
import { parseDuration } from '../core/flow/index.ts'
import type { KvEffect, KvOperation, StepRunner } from '../engine/step-runner.ts'
import { TerminalError } from '../errors.ts'

export function createKvRunner(effect: KvEffect): StepRunner {
  return {
    kind: 'kv',
    billable: true,
    async run(ctx) {
      const c = ctx.config as {
        op: KvOperation['op']
        key: unknown
        value?: unknown
        ttl?: string
        if_not_exists?: boolean
      }
      if (typeof c.key !== 'string' || c.key === '' || c.key.length > 512) {
        throw new TerminalError('invalid_key', 'The kv key must be a non-empty string of at most 512 characters.')
      }
      const ttlMs = c.ttl === undefined ? undefined : parseDuration(c.ttl)
      return {
        type: 'effect',
        effect: effect({ op: c.op, key: c.key, value: c.value, ttlMs, ifNotExists: c.if_not_exists, now: ctx.now }),
      }
    },
  }
}
