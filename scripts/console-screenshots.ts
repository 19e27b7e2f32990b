// Refreshes docs/images/console-*.png from the screenshots the console browser test takes (in headless Chromium).
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The few the docs show; the test takes more. */
const SHOWN = ['approval-split', 'run', 'approval-phone']

const shots = mkdtempSync(join(tmpdir(), 'greenlight-shots-'))
try {
  execFileSync('npx', ['vitest', 'run', 'test/integration/console-browser.test.ts'], {
    stdio: 'inherit',
    env: { ...process.env, GREENLIGHT_SCREENSHOTS: shots },
  })
  mkdirSync('docs/images', { recursive: true })
  for (const name of SHOWN) copyFileSync(join(shots, `console-${name}.png`), join('docs/images', `console-${name}.png`))
  process.stdout.write(`${JSON.stringify({ copied: SHOWN.map((n) => `docs/images/console-${n}.png`) })}\n`)
} finally {
  rmSync(shots, { recursive: true, force: true })
}
