// The run event hash chain: each event's hash covers its content and its predecessor's hash, keyed with a key derived
// from the instance's secret key so that someone who can write the database cannot recompute it.
import { createHash, createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto'

/**
 * JSON with object keys sorted, so the same value always hashes the same. Every event is hashed as it is written,
 * so this is a loop rather than entries/filter/sort/map chains (5× faster; the output is the same, byte for byte:
 * `hash-chain.test.ts` compares it with that straightforward form on random values).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null)
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      if (i in value) out += canonicalJson(value[i])
    }
    return `${out}]`
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  let out = '{'
  for (const key of keys) {
    const item = record[key]
    if (item === undefined) continue
    if (out.length > 1) out += ','
    out += `${JSON.stringify(key)}:${canonicalJson(item)}`
  }
  return `${out}}`
}

export interface ChainedEvent {
  runId: string
  seq: number
  type: string
  at: number
  actor: string | null
  stepId: string | null
  data: unknown
}

export type StoredEvent = ChainedEvent & { prevHash: string; hash: string }

/**
 * `hmac-sha256`: HMAC-SHA256 under the chain key, stored as `hmac-sha256:<hex>`. `sha256`: plain SHA-256, stored as
 * bare hex, which Greenlight wrote before it keyed the chain; anyone who can write the database can recompute it.
 */
export type ChainScheme = 'hmac-sha256' | 'sha256'

/** What a report says of a chain that holds plain SHA-256 events. */
export const PLAIN_CHAIN_NOTE =
  'Some events of this run were chained with plain SHA-256, before Greenlight keyed its chains: someone who could ' +
  'write the database before the first keyed event could have rewritten them unnoticed. Changes since are detected.'

const KEYED = 'hmac-sha256:'
const PLAIN = /^[0-9a-f]{64}$/

/** The chain's own key: HKDF of the secret key under a fixed label, so no other use of that key shares it. */
export function deriveChainKey(secretKey: Buffer): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', secretKey, '', 'greenlight audit chain v1', 32)))
}

function content(prevHash: string, event: ChainedEvent): string {
  const body = canonicalJson({
    run: event.runId,
    seq: event.seq,
    type: event.type,
    at: event.at,
    actor: event.actor,
    step: event.stepId,
    data: event.data,
  })
  return `${prevHash}\n${body}`
}

/** The hash every new event gets. */
export function eventHash(key: KeyObject, prevHash: string, event: ChainedEvent): string {
  return KEYED + createHmac('sha256', key).update(content(prevHash, event)).digest('hex')
}

/** The hash events got before the chain was keyed; kept to verify those. */
export function plainEventHash(prevHash: string, event: ChainedEvent): string {
  return createHash('sha256').update(content(prevHash, event)).digest('hex')
}

export function schemeOf(hash: string): ChainScheme | undefined {
  if (hash.startsWith(KEYED)) return 'hmac-sha256'
  return PLAIN.test(hash) ? 'sha256' : undefined
}

/** A MAC under the chain key over something that is not an event (an export's header); never equal to an event's. */
export function chainMac(key: KeyObject, label: string, value: unknown): string {
  return (
    KEYED +
    createHmac('sha256', key)
      .update(`greenlight-${label}\n${canonicalJson(value)}`)
      .digest('hex')
  )
}

export interface ChainProblem {
  seq: number
  problem:
    | 'hash_mismatch'
    | 'link_mismatch'
    | 'missing_event'
    | 'count_mismatch'
    | 'head_mismatch'
    | 'scheme_downgrade'
    | 'unkeyed_chain'
  message: string
  /** Where in the events given it was noticed (their length for the head): an export names the file's line. */
  index: number
}

export interface ChainReport {
  /** `sha256` when any event was chained the old way (they end with a keyed one that covers them). */
  scheme: ChainScheme
  /** How many events were chained with plain SHA-256. */
  plainEvents: number
  problems: ChainProblem[]
}

function hashProblem(
  key: KeyObject,
  event: StoredEvent,
  keyedBefore: boolean,
  index: number,
): ChainProblem | undefined {
  const scheme = schemeOf(event.hash)
  if (scheme === 'sha256' && keyedBefore) {
    return {
      seq: event.seq,
      problem: 'scheme_downgrade',
      message: `Event ${event.seq} is not keyed though an earlier event is: it was written without the key.`,
      index,
    }
  }
  const expected = scheme === 'sha256' ? plainEventHash(event.prevHash, event) : eventHash(key, event.prevHash, event)
  if (expected === event.hash) return undefined
  return {
    seq: event.seq,
    problem: 'hash_mismatch',
    message: `Event ${event.seq} was changed after it was written.`,
    index,
  }
}

/**
 * Recomputes the chain; `head` is what the run row says the last hash and count are. Plain events verify only when a
 * keyed event follows them: its key covers their hashes, and only the upgrade (which keys each older chain's end
 * once) or a newer event puts one there. A chain that ends plain was written or rewritten without the key.
 */
export function verifyChain(
  key: KeyObject,
  events: readonly StoredEvent[],
  head: { count: number; lastHash: string },
): ChainReport {
  const problems: ChainProblem[] = []
  let prev = ''
  let expectedSeq = 1
  let plainEvents = 0
  let keyed = false
  for (const [index, event] of events.entries()) {
    if (event.seq !== expectedSeq) {
      problems.push({ seq: expectedSeq, problem: 'missing_event', message: `Event ${expectedSeq} is missing.`, index })
      expectedSeq = event.seq
    }
    if (event.prevHash !== prev) {
      problems.push({
        seq: event.seq,
        problem: 'link_mismatch',
        message: `Event ${event.seq} does not link to its predecessor.`,
        index,
      })
    }
    const problem = hashProblem(key, event, keyed, index)
    if (problem) problems.push(problem)
    const scheme = schemeOf(event.hash)
    if (scheme === 'hmac-sha256') keyed = true
    if (scheme === 'sha256') plainEvents++
    prev = event.hash
    expectedSeq++
  }
  const last = events.at(-1)
  if (last && schemeOf(last.hash) !== 'hmac-sha256') {
    problems.push({
      seq: last.seq,
      problem: 'unkeyed_chain',
      message: 'The chain ends without a keyed event: it was written or rewritten without the instance key.',
      index: events.length - 1,
    })
  }
  if (events.length !== head.count) {
    problems.push({
      seq: head.count,
      problem: 'count_mismatch',
      message: `The run recorded ${head.count} events; ${events.length} remain.`,
      index: events.length,
    })
  }
  if (prev !== head.lastHash) {
    problems.push({
      seq: events.length,
      problem: 'head_mismatch',
      message: 'The last event is not the one the run recorded.',
      index: events.length,
    })
  }
  return { scheme: plainEvents > 0 ? 'sha256' : 'hmac-sha256', plainEvents, problems }
}
