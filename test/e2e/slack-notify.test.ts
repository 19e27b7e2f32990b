// Slack HTTP mode: a notify step posts in the run's thread; `dm: [U…]` sends a direct message to each user.
import { describe, expect, it } from 'vitest'
import type { StoredMessage } from '../support/fake-slack/index.ts'
import { api } from '../support/server.ts'
import { blocksOf, useSlackHarness } from '../support/slack-harness.ts'

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
  const slack = useSlackHarness({
    users: USERS,
    channel: CHANNEL,
    channelName: 'notes',
    flows: [FLOW],
    env: {},
    secret: SECRET,
  })

  it('posts a notify in the run thread and a dm notify as a direct message to the user', async () => {
    const started = await slack.driver.slashCommand({ text: 'run notify_me', user_id: 'U0INIT', channel_id: CHANNEL })
    expect(started.status).toBe(200)
    const runId = /run_[0-9A-Za-z]+/.exec(JSON.stringify(started.body))?.[0] as string
    expect(runId).toBeDefined()
    const show = await api(slack.server, 'GET', `/api/v1/runs/${runId}?settle=ended&timeout_ms=10000&view=brief`)
    expect((show.body.data as unknown as { run: { status: string } }).run.status).toBe('succeeded')

    const card = await slack.fake.waitFor(
      (f) => f.messages(CHANNEL).find((m) => !m.thread_ts && blocksOf(m).includes(runId)),
      10_000,
    )
    const inThread = await slack.fake.waitFor(
      (f) => f.thread(CHANNEL, card.ts).find((m) => shows(m, 'NOTE-THREAD')),
      10_000,
    )
    expect(shows(inThread, '<@U0INIT>')).toBe(true)
    expect(inThread.reply_broadcast).toBe(false)

    // The fake keeps a DM under the user's DM channel; messages('U0ANN') resolves it.
    const dm = await slack.fake.waitFor((f) => f.messages('U0ANN').find((m) => shows(m, 'NOTE-DM')), 10_000)
    expect(dm.thread_ts).toBeUndefined()
    expect(dm.channel).toBe(slack.fake.channelId('U0ANN'))
    const dmPost = slack.fake
      .callsTo('chat.postMessage')
      .find((c) => c.status === 200 && JSON.stringify(c.params).includes('NOTE-DM') && c.params.channel !== CHANNEL)
    expect(dmPost?.params.channel).toBe('U0ANN')

    await slack.fake.waitFor((f) => f.thread(CHANNEL, card.ts).some((m) => shows(m, 'succeeded in')), 10_000)
    // Each once: the thread notify, the DM; nobody else got a DM, and the channel itself got only the card.
    expect(slack.fake.messages(CHANNEL, { includeReplies: true }).filter((m) => shows(m, 'NOTE-THREAD'))).toHaveLength(
      1,
    )
    expect(slack.fake.messages('U0ANN').filter((m) => shows(m, 'NOTE-DM'))).toHaveLength(1)
    expect(slack.fake.messages('U0BOB')).toEqual([])
    expect(slack.fake.messages('U0INIT')).toEqual([])
    expect(slack.fake.messages(CHANNEL).filter((m) => blocksOf(m).includes(runId))).toHaveLength(1)
  })
})
