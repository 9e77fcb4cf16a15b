// What the browser tests share: headless Chromium (Debian's package, driven
// by playwright-core; never a downloaded browser), the example app on a real
// port, and the demo page logged in as a user, with a screenshot in
// test-output/ when a test fails.
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { RealtimeOptions } from '../../lib/index.js'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp } from '../../examples/app.js'
import type { Teardown as HelperTeardown } from '../helpers/teardown.js'

const CHROMIUM = '/usr/bin/chromium'
const ROOT = path.resolve(__dirname, '..', '..')
const OUTPUT = path.join(ROOT, 'test-output')
export const SECRET = 'browser-test-secret-long-enough-for-hs256'
const TIMEOUT_MS = 10_000

/** A test that registers cleanup (test/helpers/teardown.ts) and, for the screenshot, knows whether it passed and its name. */
export interface Teardown extends HelperTeardown { passing (): boolean, name: string }

/**
 * Runs `tests` with a browser when /usr/bin/chromium is there; otherwise
 * skips them (and fails under CI, where the browser tests must run).
 */
export function withChromium (tests: (browser: () => Browser) => void): void {
  if (!existsSync(CHROMIUM)) {
    const why = `${CHROMIUM} not found: install it with \`apt-get install -y chromium\``
    if (process.env.CI === 'true') t.fail(`browser tests cannot run under CI: ${why}`)
    else t.test('browser tests', { skip: why }, async () => {})
    return
  }
  // the page loads the bundled client from dist/browser (npm run build makes it; do it here when run alone)
  if (!existsSync(path.join(ROOT, 'dist', 'browser', 'realtime-client.js'))) {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-client.mjs')], { stdio: 'inherit' })
  }
  let browser: Browser | undefined
  t.before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync']
    })
  })
  t.teardown(() => browser?.close())
  tests(() => {
    if (browser === undefined) throw new Error('the browser is not launched yet')
    return browser
  })
}

/** The example app on 127.0.0.1 (a given port to restart it where it was; `realtime` as from the REALTIME_* variables). */
export async function startApp (t: Teardown, { port = 0, uploadStepMs = 50, realtime = {} as RealtimeOptions } = {}): Promise<{ app: FastifyInstance, base: string, port: number }> {
  const app = await buildApp({ jwtSecret: SECRET, uploadStepMs, realtime })
  await app.listen({ port, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const actual = (app.server.address() as AddressInfo).port
  return { app, base: `http://127.0.0.1:${actual}`, port: actual }
}

/** A page logged in as `userId` and open; a screenshot lands in test-output/ if the test fails. */
export async function openDemo (browser: Browser, t: Teardown, base: string, userId: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  page.setDefaultTimeout(TIMEOUT_MS)
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(error.message))
  t.teardown(async () => {
    if (!t.passing()) {
      mkdirSync(OUTPUT, { recursive: true })
      const file = path.join(OUTPUT, `${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}-${userId}.png`)
      await page.screenshot({ path: file, fullPage: true }).catch(() => {})
      console.error(`screenshot of the failing page: ${file}${problems.length > 0 ? `; page errors: ${problems.join(' | ')}` : ''}`)
    }
    await context.close()
  })
  await page.goto(`${base}/?user=${encodeURIComponent(userId)}`)
  await page.click('#connect')
  await page.waitForSelector('#state[data-state="open"]')
  t.teardown(() => { if (problems.length > 0) throw new Error(`errors on the page: ${problems.join(' | ')}`) })
  return page
}

/** POST as `userId` (a fresh token), outside any page. */
export async function post (base: string, route: string, body: unknown, userId = 'operator'): Promise<Record<string, unknown>> {
  const login = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) })
  const { token } = await login.json() as { token: string }
  const response = await fetch(base + route, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body)
  })
  if (!response.ok) throw new Error(`${route}: HTTP ${response.status}`)
  return await response.json() as Record<string, unknown>
}
