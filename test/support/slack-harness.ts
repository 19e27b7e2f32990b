// One fake Slack, one real Greenlight server in Slack HTTP mode, a signing driver, and released flows: the setup
// every Slack end-to-end test shares.
import { afterAll, beforeAll, expect } from 'vitest'
import { createFakeSlack, createSlackDriver, type FakeSlack, type StoredMessage } from './fake-slack/index.ts'
import { api, startTestServer, type TestServer } from './server.ts'

export interface SlackHarness {
  fake: FakeSlack
  server: TestServer
  driver: ReturnType<typeof createSlackDriver>
  close(): Promise<void>
}

export interface SlackHarnessOptions {
  /** Slack users, all members of `channel`. */
  users: readonly string[]
  /** Slack users who are not members of `channel`. */
  outsiders?: readonly string[]
  channel: string
  channelName?: string
  /** Slack user groups and their members (`usergroups.users.list`). */
  usergroups?: Record<string, string[]>
  /** Flow sources to push and release. */
  flows: readonly string[]
  /** More server variables (GREENLIGHT_DEFAULT_CHANNEL, LOG_LEVEL …). */
  env?: Record<string, string>
  secret?: string
}

export async function startSlackHarness(options: SlackHarnessOptions): Promise<SlackHarness> {
  const secret = options.secret ?? 'e2e-signing-secret'
  const fake = await createFakeSlack({
    users: [...options.users, ...(options.outsiders ?? [])].map((id) => ({ id, name: id.toLowerCase() })),
    channels: { [options.channel]: { name: options.channelName ?? 'e2e', members: [...options.users] } },
    ...(options.usergroups ? { usergroups: options.usergroups } : {}),
  })
  const server = await startTestServer({
    SLACK_BOT_TOKEN: 'xoxb-e2e',
    SLACK_SIGNING_SECRET: secret,
    SLACK_API_URL: fake.apiUrl,
    LOG_LEVEL: 'error',
    ...options.env,
  })
  const driver = createSlackDriver({ signingSecret: secret, url: `${server.url}/slack/events`, fake })
  for (const source of options.flows) {
    const slug = /^slug:\s*(\S+)/m.exec(source)?.[1]
    expect((await api(server, 'POST', '/api/v1/flows', { source })).status).toBe(201)
    expect((await api(server, 'POST', `/api/v1/flows/${slug}/release`, {})).status).toBe(201)
  }
  return {
    fake,
    server,
    driver,
    async close() {
      await server.close()
      await fake.close()
    },
  }
}

/**
 * Starts a harness before the suite's tests and closes it after them. The fields of the returned object are set
 * once `beforeAll` has run, so read them inside tests and hooks only.
 */
export function useSlackHarness(options: SlackHarnessOptions): Omit<SlackHarness, 'close'> {
  let harness: SlackHarness | undefined
  beforeAll(async () => {
    harness = await startSlackHarness(options)
  })
  afterAll(async () => {
    await harness?.close()
  })
  const started = (): SlackHarness => {
    if (!harness) throw new Error('the Slack harness starts in beforeAll; read it inside a test')
    return harness
  }
  return {
    get fake() {
      return started().fake
    },
    get server() {
      return started().server
    },
    get driver() {
      return started().driver
    },
  }
}

/** A message's blocks as text, for `includes` checks. */
export const blocksOf = (m: StoredMessage | undefined): string => JSON.stringify(m?.blocks ?? [])

/** Waits for a run's card in `channel`, its approval message in the thread, and the uploaded diff file. */
export async function cardAndApproval(
  fake: FakeSlack,
  channel: string,
  runId: string,
  timeoutMs = 10_000,
): Promise<{ card: StoredMessage; approval: StoredMessage }> {
  const card = await fake.waitFor(
    (f) => f.messages(channel).find((m) => !m.thread_ts && blocksOf(m).includes(runId)),
    timeoutMs,
  )
  const approval = await fake.waitFor(
    (f) => f.thread(channel, card.ts).find((m) => blocksOf(m).includes('gl_approve')),
    timeoutMs,
  )
  await fake.waitFor((f) => f.files.find((x) => x.completed && x.thread_ts === card.ts), timeoutMs)
  return { card, approval }
}
