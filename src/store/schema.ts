// The database schema (drizzle). Times are unix milliseconds; JSON columns hold text parsed by the repositories.

import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

const createdAt = () => integer('created_at').notNull()
const json = (name: string) => text(name, { mode: 'json' })

/** One row per flow slug; points at its newest draft revision and its live version. */
export const flows = sqliteTable('flows', {
  slug: text('slug').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  draftRevision: integer('draft_revision').notNull(),
  liveVersion: integer('live_version'),
  createdAt: createdAt(),
  updatedAt: integer('updated_at').notNull(),
})

/** Immutable flow sources. `number` counts pushes of distinct content; `version` is set once, on release. */
export const flowRevisions = sqliteTable(
  'flow_revisions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    flowSlug: text('flow_slug').notNull(),
    number: integer('number').notNull(),
    contentHash: text('content_hash').notNull(),
    source: text('source').notNull(),
    definition: json('definition').notNull(),
    version: integer('version'),
    note: text('note'),
    releasedBy: text('released_by'),
    releasedAt: integer('released_at'),
    createdBy: text('created_by'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('flow_revisions_content').on(t.flowSlug, t.contentHash),
    uniqueIndex('flow_revisions_number').on(t.flowSlug, t.number),
    uniqueIndex('flow_revisions_version').on(t.flowSlug, t.version),
  ],
)

/** A run is pinned to one revision; `cursor` is the interpreter's position (step, visits). */
export const runs = sqliteTable(
  'runs',
  {
    id: text('id').primaryKey(),
    flowSlug: text('flow_slug').notNull(),
    revisionId: integer('revision_id').notNull(),
    version: integer('version'),
    status: text('status').notNull(),
    inputs: json('inputs').notNull(),
    initiator: text('initiator').notNull(),
    trigger: text('trigger').notNull(),
    concurrencyKey: text('concurrency_key'),
    cursor: json('cursor').notNull(),
    waitingOn: json('waiting_on'),
    output: json('output'),
    error: json('error'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at'),
    /** When a runnable run should be picked up next (retry backoff, wake after sleep). */
    runnableAt: integer('runnable_at'),
    slack: json('slack'),
    eventCount: integer('event_count').notNull().default(0),
    lastEventHash: text('last_event_hash').notNull().default(''),
    /** Claims of this run from an instance whose lease ran out (it died mid-step) since the run last committed. */
    takeovers: integer('takeovers').notNull().default(0),
    /** A child run (a `flow` step): the parent run and the step visit it completes when it ends. */
    parentRunId: text('parent_run_id'),
    parentStep: text('parent_step'),
    parentVisit: integer('parent_visit'),
    /** How deep in a chain of child flows: 0 for a run nobody started as a child. */
    depth: integer('depth').notNull().default(0),
    createdAt: createdAt(),
    startedAt: integer('started_at'),
    endedAt: integer('ended_at'),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    index('runs_status_runnable').on(t.status, t.runnableAt),
    index('runs_flow_created').on(t.flowSlug, t.createdAt),
    index('runs_concurrency').on(t.flowSlug, t.concurrencyKey, t.status),
    index('runs_created').on(t.createdAt),
    // `runs list` pages newest first by id (a ULID): each filter it offers walks its own index in that order.
    index('runs_flow_id').on(t.flowSlug, t.id),
    index('runs_status_id').on(t.status, t.id),
    index('runs_initiator_id').on(t.initiator, t.id),
    // Retention walks ended runs oldest first (engine/retention.ts); unended runs have no ended_at.
    index('runs_ended').on(t.endedAt),
    // One child per parent step visit: a parent step that runs again after a crash finds its child.
    uniqueIndex('runs_parent_visit').on(t.parentRunId, t.parentStep, t.parentVisit),
  ],
)

/** One row per step execution (visit); its output commits with the run's advance. */
export const stepRuns = sqliteTable(
  'step_runs',
  {
    runId: text('run_id').notNull(),
    stepId: text('step_id').notNull(),
    visit: integer('visit').notNull(),
    kind: text('kind').notNull(),
    status: text('status').notNull(),
    attempt: integer('attempt').notNull().default(1),
    output: json('output'),
    error: json('error'),
    billable: integer('billable', { mode: 'boolean' }).notNull().default(false),
    startedAt: integer('started_at').notNull(),
    endedAt: integer('ended_at'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.stepId, t.visit] }), index('step_runs_ended').on(t.endedAt)],
)

/**
 * What `greenlight usage` counts: one row per billable execution, an attempt of a step (each retry is one) or a job
 * however it ended; written in the transaction that records it, keyed so a repeated write counts once. An llm
 * step's row holds the tokens it used (engine/usage.ts); every other row holds zeros.
 */
export const billedExecutions = sqliteTable(
  'billed_executions',
  {
    runId: text('run_id').notNull(),
    stepId: text('step_id').notNull(),
    visit: integer('visit').notNull(),
    attempt: integer('attempt').notNull(),
    kind: text('kind').notNull(),
    at: integer('at').notNull(),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    totalTokens: integer('total_tokens').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.runId, t.stepId, t.visit, t.attempt] }), index('billed_executions_at').on(t.at)],
)

/** Append-only run history; each event hashes its predecessor, so a change or a gap is detectable. */
export const runEvents = sqliteTable(
  'run_events',
  {
    runId: text('run_id').notNull(),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    at: integer('at').notNull(),
    actor: text('actor'),
    stepId: text('step_id'),
    data: json('data').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.seq] })],
)

/** Parked work: callback waits, approvals, inputs and jobs. Unique per run, step and visit. */
export const waits = sqliteTable(
  'waits',
  {
    id: text('id').primaryKey(),
    runId: text('run_id').notNull(),
    stepId: text('step_id').notNull(),
    visit: integer('visit').notNull(),
    kind: text('kind').notNull(),
    /** early (callback arrived first) | open | completed | failed | timed_out | canceled */
    status: text('status').notNull(),
    deadlineAt: integer('deadline_at'),
    /** Step configuration evaluated when the wait opened (approval policy, schema, job payload). */
    spec: json('spec'),
    /** Approval artifact digest (sha256 of what was shown) and its revision within a changes-requested loop. */
    digest: text('digest'),
    payload: json('payload'),
    payloadHash: text('payload_hash'),
    result: json('result'),
    jobType: text('job_type'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: createdAt(),
    completedAt: integer('completed_at'),
  },
  (t) => [
    uniqueIndex('waits_step_visit').on(t.runId, t.stepId, t.visit),
    index('waits_kind_status').on(t.kind, t.status, t.jobType),
    // `waits list` (newest first, by status, and by kind and status for approvals and the App Home).
    index('waits_status_created').on(t.status, t.createdAt),
    index('waits_kind_status_created').on(t.kind, t.status, t.createdAt),
  ],
)

/** Approval votes; one per voter and artifact digest, so a double click records one vote. */
export const votes = sqliteTable(
  'votes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    waitId: text('wait_id').notNull(),
    voter: text('voter').notNull(),
    decision: text('decision').notNull(),
    comment: text('comment'),
    digest: text('digest').notNull(),
    via: text('via').notNull(),
    /** The API token that cast the vote (null in Slack): an admin minting an `--as` token for someone shows here. */
    tokenId: text('token_id'),
    tokenName: text('token_name'),
    at: integer('at').notNull(),
  },
  // One vote per voter, revision and decision: a repeat is a duplicate, but an approver may still reject.
  (t) => [uniqueIndex('votes_once').on(t.waitId, t.voter, t.digest, t.decision)],
)

/** Durable timers: sleeps, wait timeouts, reminders, escalations, retry backoff, schedule ticks. */
export const timers = sqliteTable(
  'timers',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind').notNull(),
    /** Makes arming idempotent: re-arming the same timer is a no-op. */
    key: text('key').notNull(),
    runId: text('run_id'),
    waitId: text('wait_id'),
    fireAt: integer('fire_at').notNull(),
    data: json('data'),
    status: text('status').notNull(),
    claimedBy: text('claimed_by'),
    claimedUntil: integer('claimed_until'),
    createdAt: createdAt(),
    firedAt: integer('fired_at'),
  },
  (t) => [
    uniqueIndex('timers_key').on(t.key),
    index('timers_due').on(t.status, t.fireAt),
    index('timers_run').on(t.runId, t.status),
  ],
)

/** Content-addressed blobs: large outputs, callback bodies, diffs and logs. */
export const resources = sqliteTable('resources', {
  id: text('id').primaryKey(),
  size: integer('size').notNull(),
  mediaType: text('media_type').notNull(),
  content: blob('content', { mode: 'buffer' }).notNull(),
  runId: text('run_id'),
  createdAt: createdAt(),
})

/**
 * Which runs used which resource. A resource is stored once by content, under the run that stored it first
 * (`resources.run_id`); every run that stores the same bytes again gets a row here too.
 */
export const resourceRuns = sqliteTable(
  'resource_runs',
  {
    resourceId: text('resource_id').notNull(),
    runId: text('run_id').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.resourceId, t.runId] }), index('resource_runs_run').on(t.runId, t.createdAt)],
)

/** API tokens; only a hash of the secret part is stored. */
export const tokens = sqliteTable('tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  scopes: json('scopes').notNull(),
  asUser: text('as_user'),
  createdBy: text('created_by'),
  createdAt: createdAt(),
  lastUsedAt: integer('last_used_at'),
  revokedAt: integer('revoked_at'),
})

export const connections = sqliteTable('connections', {
  name: text('name').primaryKey(),
  type: text('type').notNull(),
  config: json('config').notNull(),
  createdAt: createdAt(),
  updatedAt: integer('updated_at').notNull(),
})

/** Secrets encrypted with AES-256-GCM under the instance key. */
export const secrets = sqliteTable('secrets', {
  name: text('name').primaryKey(),
  nonce: blob('nonce', { mode: 'buffer' }).notNull(),
  ciphertext: blob('ciphertext', { mode: 'buffer' }).notNull(),
  tag: blob('tag', { mode: 'buffer' }).notNull(),
  createdAt: createdAt(),
  updatedAt: integer('updated_at').notNull(),
})

export const kv = sqliteTable('kv', {
  key: text('key').primaryKey(),
  value: json('value'),
  expiresAt: integer('expires_at'),
  updatedAt: integer('updated_at').notNull(),
})

/** Outgoing Slack calls, retried until delivered; `result` keeps the posted `ts` so nothing posts twice. */
export const outbox = sqliteTable(
  'outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    key: text('key').notNull().unique(),
    runId: text('run_id'),
    method: text('method').notNull(),
    payload: json('payload').notNull(),
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    claimedBy: text('claimed_by'),
    claimedUntil: integer('claimed_until'),
    result: json('result'),
    error: text('error'),
    createdAt: createdAt(),
    sentAt: integer('sent_at'),
  },
  (t) => [index('outbox_due').on(t.status, t.nextAttemptAt), index('outbox_run').on(t.runId)],
)

/** One row per fired schedule tick: the primary key makes a tick fire once across instances. */
export const scheduleTicks = sqliteTable(
  'schedule_ticks',
  {
    flowSlug: text('flow_slug').notNull(),
    schedule: text('schedule').notNull(),
    tickAt: integer('tick_at').notNull(),
    runId: text('run_id'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.flowSlug, t.schedule, t.tickAt] })],
)

/** Webhook dedupe keys: a redelivered event finds its first run here. */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    flowSlug: text('flow_slug').notNull(),
    dedupeKey: text('dedupe_key').notNull(),
    runId: text('run_id').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.flowSlug, t.dedupeKey] }), index('webhook_deliveries_run').on(t.runId)],
)

/** Cached Slack directory lookups (user groups, channel members) used for approver eligibility. */
export const directoryCache = sqliteTable('directory_cache', {
  key: text('key').primaryKey(),
  members: json('members').notNull(),
  fetchedAt: integer('fetched_at').notNull(),
})

/** Live server instances, for leases and operations. */
export const instances = sqliteTable('instances', {
  id: text('id').primaryKey(),
  startedAt: integer('started_at').notNull(),
  heartbeatAt: integer('heartbeat_at').notNull(),
  meta: json('meta'),
})

/** Who a console sign-in acts as: a Slack user (`/gl console`), or an API token (`greenlight console login`). */
const consoleIdentity = () => ({
  actor: text('actor').notNull(),
  slackUser: text('slack_user'),
  tokenId: text('token_id'),
  tokenName: text('token_name'),
  scopes: json('scopes').notNull(),
})

/** One-time console sign-in links; only a hash of the link's secret is stored, and a link is used once. */
export const consoleLinks = sqliteTable('console_links', {
  secretHash: text('secret_hash').primaryKey(),
  ...consoleIdentity(),
  createdAt: createdAt(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
})

/** Console sessions behind the session cookie; only a hash of the cookie's secret is stored. */
export const consoleSessions = sqliteTable(
  'console_sessions',
  {
    secretHash: text('secret_hash').primaryKey(),
    ...consoleIdentity(),
    createdAt: createdAt(),
    expiresAt: integer('expires_at').notNull(),
    endedAt: integer('ended_at'),
  },
  (t) => [index('console_sessions_expiry').on(t.expiresAt)],
)

/**
 * The ledger of pruned runs (engine/retention.ts): what a run was and the head of its event chain, so `audit verify`
 * tells a pruned run from a deleted (tampered) one, and what the prune removed with it.
 */
export const prunedRuns = sqliteTable(
  'pruned_runs',
  {
    runId: text('run_id').primaryKey(),
    flowSlug: text('flow_slug').notNull(),
    status: text('status').notNull(),
    /** The root run it was pruned with (a child goes with its root); null for a root. */
    rootRunId: text('root_run_id'),
    runCreatedAt: integer('run_created_at').notNull(),
    endedAt: integer('ended_at').notNull(),
    eventCount: integer('event_count').notNull(),
    lastEventHash: text('last_event_hash').notNull(),
    /** Rows removed with the run: steps, events, waits, votes, timers, outbox, resources. */
    counts: json('counts').notNull(),
    prunedAt: integer('pruned_at').notNull(),
  },
  (t) => [index('pruned_runs_at').on(t.prunedAt)],
)

/** Named leases on work only one instance may do at a time (the prune); a holder that dies lets it expire. */
export const maintenanceLeases = sqliteTable('maintenance_leases', {
  name: text('name').primaryKey(),
  owner: text('owner').notNull(),
  expiresAt: integer('expires_at').notNull(),
  acquiredAt: integer('acquired_at').notNull(),
})
