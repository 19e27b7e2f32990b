// The console in headless Chromium: sign in with a `/gl console` link, open a run and its approval, switch the diff
// between unified and side by side, vote, and see the tally change; a second browser sees that vote, and one cast in
// Slack, arrive live; the Slack thread shows the console vote. Screenshots go to a temp dir (docs/images copies).

import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, type TestBrowser } from '../support/browser.ts'
import type { StoredMessage } from '../support/fake-slack/index.ts'
import { showRun } from '../support/runs.ts'
import { api, mintToken } from '../support/server.ts'
import { blocksOf, cardAndApproval, useSlackHarness } from '../support/slack-harness.ts'

const CHANNEL = 'C0CONSOLE'
/** How far a page scrolls sideways (evaluated in the page; the tests' types have no DOM). */
const SIDEWAYS = 'document.documentElement.scrollWidth - document.documentElement.clientWidth'

const FLOW = `slug: console_review
name: Review an agent's patch
inputs:
  diff: { type: string, required: true }
steps:
  - id: review
    name: Review the patch
    approval:
      message: "The agent fixed the retry bug in *billing*. Ship it?"
      diff: "{{ inputs.diff }}"
      approvers: { users: [U0ANN, U0BOB, U0CAT] }
      required: 2
  - id: done
    transform: "{{ steps.review.output.decision }}"
`

function sampleDiff(): string {
  const ts = [
    'diff --git a/src/billing/retry.ts b/src/billing/retry.ts',
    '--- a/src/billing/retry.ts',
    '+++ b/src/billing/retry.ts',
    '@@ -1,8 +1,10 @@',
    " import { sleep } from './sleep.ts'",
    ' ',
    ' export async function retry<T>(work: () => Promise<T>, attempts = 3): Promise<T> {',
    '-  for (let i = 0; i <= attempts; i++) {',
    '+  let last: unknown',
    '+  for (let i = 0; i < attempts; i++) {',
    '     try {',
    '       return await work()',
    '-    } catch {',
    '+    } catch (error) {',
    '+      last = error',
    '       await sleep(2 ** i * 100)',
  ]
  const yaml = [
    'diff --git a/config/billing.yaml b/config/billing.yaml',
    '--- a/config/billing.yaml',
    '+++ b/config/billing.yaml',
    '@@ -1,3 +1,3 @@',
    ' retries:',
    '-  attempts: 5',
    '+  attempts: 3',
    '   backoff_ms: 100',
  ]
  return `${[...ts, ...yaml].join('\n')}\n`
}

describe('console in a browser', () => {
  const slack = useSlackHarness({
    users: ['U0ANN', 'U0BOB', 'U0CAT', 'U0INIT'],
    channel: CHANNEL,
    flows: [FLOW],
    env: { GREENLIGHT_DEFAULT_CHANNEL: CHANNEL, LOG_LEVEL: 'silent' },
  })
  let browser: TestBrowser
  let runId = ''
  let waitId = ''
  let approval: StoredMessage

  beforeAll(async () => {
    browser = await launchBrowser()
    const init = await mintToken(slack.server, 'init', ['runs:write', 'runs:read'], 'U0INIT')
    const started = await api(
      slack.server,
      'POST',
      '/api/v1/runs',
      { flow: 'console_review', inputs: { diff: sampleDiff() }, wait: true },
      init.secret,
    )
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    runId = (started.body.data as { run: { id: string } }).run.id
    waitId = (await showRun(slack.server, runId)).run.waiting_on.wait_id
    approval = (await cardAndApproval(slack.fake, CHANNEL, runId)).approval
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
  })

  /** `/gl console` typed by `user`: the ephemeral answer's one-time URL. */
  async function slackLink(user: string): Promise<string> {
    const answer = await slack.driver.slashCommand({ user_id: user, channel_id: CHANNEL, text: 'console' })
    const text = (answer.body as { text?: string; response_type?: string }).text ?? ''
    expect((answer.body as { response_type?: string }).response_type).toBe('ephemeral')
    const url = /(http:\/\/\S+\/ui\/login\/gll_[\w-]+)/.exec(text)?.[1]
    if (!url) throw new Error(`no link in ${text}`)
    return url
  }

  async function signedIn(
    user: string,
    viewport?: { width: number; height: number },
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.context(viewport)
    const page = await context.newPage()
    await page.goto(await slackLink(user))
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL('**/ui/runs?notice=signed_in')
    return { context, page }
  }

  it('puts a "View full diff" link to the console approval page on the Slack approval message', () => {
    expect(blocksOf(approval)).toContain('View full diff')
    expect(blocksOf(approval)).toContain(`${slack.server.url}/ui/approvals/${waitId}`)
  })

  it('signs in, opens the run and its approval, switches the diff layout, votes, and sees votes arrive live', async () => {
    const { context, page } = await signedIn('U0ANN')
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Runs')
    await page.getByText('You are signed in.').waitFor()
    await browser.screenshot(page, 'runs')

    await page.getByRole('link', { name: runId }).click()
    await page.getByRole('heading', { level: 1, name: `Run ${runId}` }).waitFor()
    await page.locator('#live-status', { hasText: 'Live:' }).waitFor()
    await browser.screenshot(page, 'run', { fullPage: true })

    await page.getByRole('link', { name: 'Open the approval' }).first().click()
    await page.getByRole('heading', { level: 1, name: 'Approval: review' }).waitFor()
    expect(await page.locator('.d2h-file-diff').count()).toBe(2)
    expect(await page.locator('.d2h-file-side-diff').count()).toBe(0)
    // Highlighted on the server: the TypeScript file's keywords carry highlight.js classes.
    expect(await page.locator('#file-1 .hljs-keyword').count()).toBeGreaterThan(0)
    await expect.poll(() => page.locator('table.files tbody tr').count()).toBe(2)
    await page.getByRole('link', { name: 'Side by side' }).click()
    await page.waitForURL(/layout=split/)
    expect(await page.locator('.d2h-file-side-diff').count()).toBe(4)
    await browser.screenshot(page, 'approval-split', { fullPage: true })
    await page.getByRole('link', { name: 'Unified' }).click()
    await page.waitForURL(/layout=unified/)
    expect(await page.locator('.d2h-file-diff').count()).toBe(2)

    // A second reviewer watches the same approval page.
    const watcher = await signedIn('U0CAT')
    await watcher.page.goto(`${slack.server.url}/ui/approvals/${waitId}`)
    await watcher.page.locator('#live-status', { hasText: 'Live:' }).waitFor()
    const tallyOf = (p: Page) => p.getByTestId('tally').textContent()
    expect(await tallyOf(watcher.page)).toBe('0 of 2 approvals')

    await page.getByLabel('Comment').fill('Retry count matches the config now.')
    await page.getByRole('button', { name: 'Approve', exact: true }).click()
    await page.waitForURL(/notice=recorded/)
    const voted = Date.now()
    expect(await tallyOf(page)).toBe('1 of 2 approvals')
    await page.getByText('Your vote is recorded.').waitFor()
    await expect.poll(() => tallyOf(watcher.page), { timeout: 5000, interval: 20 }).toBe('1 of 2 approvals')
    const liveMs = Date.now() - voted
    console.log(JSON.stringify({ console_vote_seen_live_ms: liveMs }))
    expect(liveMs).toBeLessThan(1000)
    await browser.screenshot(watcher.page, 'approval', { fullPage: false })

    // The console vote is mirrored into the Slack thread: the approval message's tally names U0ANN.
    await slack.fake.waitFor(
      (f) =>
        f
          .messages(CHANNEL, { includeReplies: true })
          .find(
            (m) => m.ts === approval.ts && blocksOf(m).includes('1 of 2 approvals') && blocksOf(m).includes('U0ANN'),
          ),
      10_000,
    )

    // A vote in Slack (a signed button click) reaches the open pages live too, and decides the approval.
    const clicked = Date.now()
    expect(
      (
        await slack.driver.blockAction({
          user: 'U0BOB',
          action_id: 'gl_approve',
          channel: CHANNEL,
          message_ts: approval.ts,
        })
      ).status,
    ).toBe(200)
    await expect.poll(() => tallyOf(watcher.page), { timeout: 5000, interval: 20 }).toBe('2 of 2 approvals')
    const slackMs = Date.now() - clicked
    console.log(JSON.stringify({ slack_vote_seen_live_ms: slackMs }))
    expect(slackMs).toBeLessThan(1000)
    await expect
      .poll(() => page.locator('#approval-tally').textContent(), { timeout: 5000 })
      .toContain('Outcome: approved')
    await watcher.context.close()
    await context.close()
  })

  it('reads at phone width and 200 % zoom, with headings, labels and a visible keyboard focus', async () => {
    const phone = await signedIn('U0ANN', { width: 375, height: 800 })
    await phone.page.goto(`${slack.server.url}/ui/approvals/${waitId}`)
    const overflow = await phone.page.evaluate<number>(SIDEWAYS)
    expect(overflow).toBeLessThanOrEqual(1)
    await browser.screenshot(phone.page, 'approval-phone', { fullPage: false })
    await phone.page.keyboard.press('Tab')
    expect(await phone.page.evaluate<string>('document.activeElement?.textContent')).toBe('Skip to content')
    const outline = await phone.page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')
    expect(outline).toBe('solid')
    await phone.context.close()

    // 200 % zoom of a 1280 px window: a 640 px layout at twice the pixels.
    const zoomed = await browser.browser.newContext({ viewport: { width: 640, height: 450 }, deviceScaleFactor: 2 })
    const cookies = await (await signedIn('U0CAT')).context.cookies()
    await zoomed.addCookies(cookies)
    const page = await zoomed.newPage()
    await page.goto(`${slack.server.url}/ui/runs/${runId}`)
    expect(await page.evaluate<number>(SIDEWAYS)).toBeLessThanOrEqual(1)
    expect(await page.locator('h1').count()).toBe(1)
    expect(await page.locator('h2').count()).toBeGreaterThan(2)
    await page.goto(`${slack.server.url}/ui/runs`)
    for (const name of ['Flow', 'Status', 'Started by']) expect(await page.getByLabel(name).count(), name).toBe(1)
    await zoomed.close()
  })
})
