// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with screenshots saved under a temp dir.
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export interface TestBrowser {
  browser: Browser
  /** Where `screenshot` writes (GREENLIGHT_SCREENSHOTS, else a fresh temp dir). */
  screenshots: string
  context(options?: { width?: number; height?: number }): Promise<BrowserContext>
  screenshot(page: Page, name: string, options?: { fullPage?: boolean }): Promise<string>
  close(): Promise<void>
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
  const screenshots = process.env.GREENLIGHT_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'greenlight-shots-'))
  mkdirSync(screenshots, { recursive: true })
  return {
    browser,
    screenshots,
    context: (options = {}) =>
      browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 900 } }),
    async screenshot(page, name, options = {}) {
      const path = join(screenshots, `console-${name}.png`)
      await page.screenshot({ path, fullPage: options.fullPage ?? false })
      return path
    },
    close: () => browser.close(),
  }
}
