// Slack HTTP mode: a notify step posts in the run's thread; `dm: [U…]` sends a direct message to each user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { createSlackDriver, FakeSlack, StoredMessage } from '../support/fake-slack/index.ts'
import { api, type TestServer } from '../support/server.ts'
import { blocksOf, startSlackHarness } from '../support/slack-harness.ts'

const SECRET = 'e2e-notify-secret'
const CHANNEL = 'C0NOTE'
const USERS = ['U0INIT', 'U0ANN', 'U0BOB']

const FLOW = `slug: notify_me
name: Notify people
steps:
  - id: say
    notify: { text: "NOTE-THREAD started by <@{{ run.initiator }}>" }
  - id: tell
    notify:
      text: "NOTE-DM something for you"
      dm: [U0ANN]
`

const shows = (m: StoredMessage, needle: string): boolean => m.text.includes(needle) || blocksOf(m).includes(needle)

describe('Slack notify steps (HTTP mode)', () => {
  let fake: FakeSlack
  let server: TestServer
  let driver: ReturnType<typeof createSlackDriver>

  beforeAll(async () => {
    const harness = await startSlackHarness({
      users: USERS,
      channel: CHANNEL,
      channelName: 'notes',
      flows: [FLOW],
      env: {},
      secret: SECRET,
    })
    fake = harness.fake
    server = harness.server
    driver = harness.driver
  })
  afterAll(async () => {
    await server?.close()
    await fake?.close()
  })

  it('posts a notify in the run thread and a dm notify as a direct message to the user', async () => {
    const started = await driver.slashCommand({ text: 'run notify_me', user_id: 'U0INIT', channel_id: CHANNEL })
    expect(started.status).toBe(200)
    const runId = /run_[0-9A-Za-z]+/.exec(JSON.stringify(started.body))?.[0] as string
    expect(runId).toBeDefined()
    const show = await api(server, 'GET', `/api/v1/runs/${runId}?settle=ended&timeout_ms=10000&view=brief`)
    expect((show.body.data as unknown as { run: { status: string } }).run.status).toBe('succeeded')

    const card = await fake.waitFor(
      (f) => f.messages(CHANNEL).find((m) => !m.thread_ts && blocksOf(m).includes(runId)),
      10_000,
    )
    const inThread = await fake.waitFor((f) => f.thread(CHANNEL, card.ts).find((m) => shows(m, 'NOTE-THREAD')), 10_000)
    expect(shows(inThread, '<@U0INIT>')).toBe(true)
    expect(inThread.reply_broadcast).toBe(false)

    // The fake keeps a DM under the user's DM channel; messages('U0ANN') resolves it.
    const dm = await fake.waitFor((f) => f.messages('U0ANN').find((m) => shows(m, 'NOTE-DM')), 10_000)
    expect(dm.thread_ts).toBeUndefined()
    expect(dm.channel).toBe(fake.channelId('U0ANN'))
    const dmPost = fake
      .callsTo('chat.postMessage')
      .find((c) => c.status === 200 && JSON.stringify(c.params).includes('NOTE-DM') && c.params.channel !== CHANNEL)
    expect(dmPost?.params.channel).toBe('U0ANN')

    await fake.waitFor((f) => f.thread(CHANNEL, card.ts).some((m) => shows(m, 'succeeded in')), 10_000)
    // Each once: the thread notify, the DM; nobody else got a DM, and the channel itself got only the card.
    expect(fake.messages(CHANNEL, { includeReplies: true }).filter((m) => shows(m, 'NOTE-THREAD'))).toHaveLength(1)
    expect(fake.messages('U0ANN').filter((m) => shows(m, 'NOTE-DM'))).toHaveLength(1)
    expect(fake.messages('U0BOB')).toEqual([])
    expect(fake.messages('U0INIT')).toEqual([])
    expect(fake.messages(CHANNEL).filter((m) => blocksOf(m).includes(runId))).toHaveLength(1)
  })
})
