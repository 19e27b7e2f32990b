import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed } from '../../test/support/fuzz-env.ts'
import { type StartedTarget, storeTargets } from '../../test/support/store-targets.ts'
import { deriveChainKey } from '../core/hash-chain.ts'
import { openDatabase } from './database.ts'
import { createRunStore } from './run-store.ts'

interface StoredSpec {
  approvers?: { users?: string[]; usergroups?: string[]; channel?: string | null }
  escalated_to?: string[]
}

/** The rule listWaits' mayWaitOn must keep, written plainly: what the SQL may skip is only "lists other people". */
function mayWaitOn(spec: StoredSpec, user: string): boolean {
  const users = spec.approvers?.users ?? []
  return (
    users.includes(user) ||
    (spec.escalated_to ?? []).includes(user) ||
    (spec.approvers?.usergroups ?? []).length > 0 ||
    (spec.approvers?.channel ?? null) !== null ||
    users.length === 0
  )
}

describe.each(storeTargets)('run store on $name: open approvals that may wait on a user', (target) => {
  let started: StartedTarget
  beforeAll(async () => {
    started = await target.start()
  })
  afterAll(() => started.stop())

  it('skips exactly the approvals that list only other people, for random approver lists', async () => {
    const database = await openDatabase({ url: await started.fresh() })
    const store = createRunStore(database, deriveChainKey(randomBytes(32)))
    const random = createRandom(fuzzSeed(77))
    const people = ['U1', 'U2', 'U3', "U'4", 'U"5']
    const list = () => people.filter(() => random.chance(0.3))
    const specs: StoredSpec[] = []
    for (let i = 0; i < fuzzRuns(120); i++) {
      const spec: StoredSpec = {}
      if (random.chance(0.9)) {
        spec.approvers = { users: list() }
        if (random.chance(0.2)) spec.approvers.usergroups = random.chance(0.5) ? ['S1'] : []
        if (random.chance(0.2)) spec.approvers.channel = random.chance(0.5) ? 'C1' : null
      }
      if (random.chance(0.3)) spec.escalated_to = list()
      specs.push(spec)
      const kind = random.chance(0.9) ? 'approval' : 'wait'
      const status = random.chance(0.85) ? 'open' : 'completed'
      await database.write((_tx, sql) =>
        sql.run(
          `INSERT INTO waits (id, run_id, step_id, visit, kind, status, spec, created_at)
           VALUES (?, ?, 'review', 1, ?, ?, ?, ?)`,
          [`wait_${String(i).padStart(4, '0')}`, `run_${i}`, kind, status, JSON.stringify(spec), i],
        ),
      )
    }
    const all = await store.listWaits({ kind: 'approval', status: ['open'], limit: 10_000 })
    for (const user of [...people, 'U9']) {
      const found = await store.listWaits({ kind: 'approval', status: ['open'], mayWaitOn: user, limit: 10_000 })
      const expected = all.filter((w) => mayWaitOn(w.spec as StoredSpec, user)).map((w) => w.id)
      expect(
        found.map((w) => w.id),
        user,
      ).toEqual(expected)
    }
    // Something was skipped for the user nobody lists, and something found: the filter is neither all nor nothing.
    const stranger = await store.listWaits({ kind: 'approval', status: ['open'], mayWaitOn: 'U9', limit: 10_000 })
    expect(stranger.length).toBeGreaterThan(0)
    expect(stranger.length).toBeLessThan(all.length)
    database.close()
  })
})
