// The durable key-value store behind the kv step; each operation runs inside the step's commit transaction.
import { eq } from 'drizzle-orm'
import type { KvOperation, KvResult } from '../engine/step-runner.ts'
import type { Tx } from './database.ts'
import { kv } from './schema.ts'

export function kvEffect(op: KvOperation): (tx: unknown) => Promise<KvResult> {
  return async (handle) => {
    const tx = handle as Tx
    const row = await tx.select().from(kv).where(eq(kv.key, op.key)).get()
    const live = row && (row.expiresAt === null || row.expiresAt > op.now) ? row : undefined
    const existed = live !== undefined
    const current = live?.value ?? null
    const expiresAt = op.ttlMs === undefined ? (live?.expiresAt ?? null) : op.now + op.ttlMs
    const write = async (value: unknown) => {
      await tx
        .insert(kv)
        .values({ key: op.key, value, expiresAt, updatedAt: op.now })
        .onConflictDoUpdate({ target: kv.key, set: { value, expiresAt, updatedAt: op.now } })
      return value
    }
    switch (op.op) {
      case 'get':
        return { key: op.key, value: current, existed }
      case 'delete':
        await tx.delete(kv).where(eq(kv.key, op.key))
        return { key: op.key, value: null, existed }
      case 'set':
        if (op.ifNotExists && existed) return { key: op.key, value: current, existed, written: false }
        return { key: op.key, value: await write(op.value), existed, written: true }
      case 'incr': {
        const by = op.value === undefined ? 1 : Number(op.value)
        const base = typeof current === 'number' ? current : Number(current ?? 0)
        return {
          key: op.key,
          value: await write((Number.isFinite(base) ? base : 0) + (Number.isFinite(by) ? by : 0)),
          existed,
        }
      }
      case 'append': {
        const list = Array.isArray(current) ? current : current === null ? [] : [current]
        return { key: op.key, value: await write([...list, op.value]), existed }
      }
    }
  }
}
