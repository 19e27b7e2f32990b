import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRandom, fuzzRuns, fuzzSeed, NASTY_CHARS } from '../../test/support/fuzz-env.ts'
import { type StartedTarget, storeTargets } from '../../test/support/store-targets.ts'
import { summarize, type Vote, type VoteDecision } from '../core/approvals/policy.ts'
import { deriveChainKey } from '../core/hash-chain.ts'
import { openDatabase } from './database.ts'
import { createRunStore } from './run-store.ts'

describe.each(storeTargets)('run store on $name: vote summary', (target) => {
  let started: StartedTarget
  beforeAll(async () => {
    started = await target.start()
  })
  afterAll(() => started.stop())

  it('summarizes in SQL exactly as the tally does over every vote, for random votes', async () => {
    const database = await openDatabase({ url: await started.fresh() })
    const store = createRunStore(database, deriveChainKey(randomBytes(32)))
    const random = createRandom(fuzzSeed(4242))
    const decisions: VoteDecision[] = ['approve', 'approve', 'approve', 'reject', 'request_changes']
    for (let round = 0; round < fuzzRuns(60); round++) {
      const waitId = `wait_${round}`
      const cast: Vote[] = []
      for (let i = 0; i < random.int(12); i++) {
        const vote: Vote = {
          voter: `U${random.int(6)}`,
          decision: random.pick(decisions),
          // No NUL: the native driver cuts a text it returns at its first NUL (the stored text is whole).
          comment: random.chance(0.5) ? null : random.string(random.int(8), NASTY_CHARS.replace('\u0000', '')),
          digest: random.pick(['d0', 'd1']),
          // Few distinct times: ties must fall back to the order the votes were cast in.
          at: random.int(4),
        }
        const inserted = await database.write((_tx, sql) =>
          sql.run(
            `INSERT INTO votes (wait_id, voter, decision, comment, digest, via, at) VALUES (?, ?, ?, ?, ?, 'api', ?)
             ON CONFLICT DO NOTHING`,
            [waitId, vote.voter, vote.decision, vote.comment, vote.digest, vote.at],
          ),
        )
        if (inserted.changes === 1) cast.push(vote)
      }
      for (const digest of ['d0', 'd1']) {
        const voter = `U${random.int(6)}`
        const decision = random.pick(decisions)
        const { result } = await store.transact(async (view) => ({
          transition: null,
          result: await view.voteSummary(waitId, digest, voter, decision),
        }))
        const label = JSON.stringify({ cast, digest, voter, decision })
        expect(result.summary, label).toEqual(summarize(cast, digest))
        const same = (v: Vote) => v.voter === voter && v.digest === digest && v.decision === decision
        expect(result.voted, label).toBe(cast.some(same))
      }
    }
    database.close()
  })
})
