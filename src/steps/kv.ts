// kv: get | set | delete | incr | append on the durable store, applied in the same transaction as the step's result.
import { parseDuration, toText } from '../core/flow/index.ts'
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
      // A number (a YAML integer, or a template's result) names the same key as its digits: the store keys on text.
      const key = toText(c.key)
      if (key === '' || key.length > 512) {
        throw new TerminalError(
          'invalid_key',
          key === ''
            ? 'The kv key is empty: its template found no value.'
            : 'The kv key must be a non-empty string of at most 512 characters.',
        )
      }
      const ttlMs = c.ttl === undefined ? undefined : parseDuration(c.ttl)
      return {
        type: 'effect',
        effect: effect({ op: c.op, key, value: c.value, ttlMs, ifNotExists: c.if_not_exists, now: ctx.now }),
      }
    },
  }
}
