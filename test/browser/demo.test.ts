// End-to-end: the demo page in headless Chromium (Debian's package, driven by
// playwright-core) against the example app on a real port.
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp } from '../../examples/app.js'

const CHROMIUM = '/usr/bin/chromium'
const ROOT = path.resolve(__dirname, '..', '..')
const OUTPUT = path.join(ROOT, 'test-output')
const SECRET = 'browser-test-secret-long-enough-for-hs256'
const TIMEOUT_MS = 10_000

interface Teardown { teardown (fn: () => unknown): void, passing (): boolean, name: string }

if (!existsSync(CHROMIUM)) {
  const why = `${CHROMIUM} not found: install it with \`apt-get install -y chromium\``
  if (process.env.CI === 'true') t.fail(`browser tests cannot run under CI: ${why}`)
  else t.test('browser tests', { skip: why }, async () => {})
} else {
  run()
}

function run (): void {
  // the page loads the bundled client from dist/browser (npm run build makes it; do it here when run alone)
  if (!existsSync(path.join(ROOT, 'dist', 'browser', 'realtime-client.js'))) {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-client.mjs')], { stdio: 'inherit' })
  }

  let browser: Browser
  t.before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync']
    })
  })
  t.teardown(() => browser.close())

  /** The example app on 127.0.0.1 (a given port to restart it where it was). */
  async function startApp (t: Teardown, port = 0): Promise<{ app: FastifyInstance, base: string, port: number }> {
    const app = await buildApp({ jwtSecret: SECRET, uploadStepMs: 50 })
    await app.listen({ port, host: '127.0.0.1' })
    t.teardown(() => app.close())
    const actual = (app.server.address() as AddressInfo).port
    return { app, base: `http://127.0.0.1:${actual}`, port: actual }
  }

  /** A page logged in as `userId` and open; a screenshot lands in test-output/ if the test fails. */
  async function openDemo (t: Teardown, base: string, userId: string): Promise<Page> {
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

  async function post (base: string, route: string, body: unknown, userId = 'operator'): Promise<Record<string, unknown>> {
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

  t.test('connect, subscribe with a checkbox, and watch an upload reach 100 %', async (t) => {
    const { base } = await startApp(t)
    const page = await openDemo(t, base, 'alice')
    t.match(await page.textContent('#connection-info'), /^alice · /)

    await page.check('input[data-event="file.ready"]')
    await page.waitForSelector('input[data-event="file.ready"][data-subscribed="true"]')
    await post(base, '/api/v1/files/f-1/status', { userId: 'alice', status: 'ready' })
    t.match(await page.textContent('#log li[data-type="file.ready"]'), /f-1: ready/)

    await page.click('#upload-start')
    await page.waitForSelector('#upload-progress[aria-valuenow="100"]')
    await page.waitForSelector('#log li[data-type="upload.completed"]')
    t.equal(await page.textContent('#upload-percent'), '100 %')
    t.equal(await page.textContent('#upload-status'), 'Completed.')
  })

  t.test('an upload can be cancelled from the page', async (t) => {
    const app = await buildApp({ jwtSecret: SECRET, uploadStepMs: 1000 })
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => app.close())
    const page = await openDemo(t, `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, 'erin')
    await page.click('#upload-start')
    await page.waitForSelector('#upload-cancel:not([disabled])')
    await page.click('#upload-cancel')
    await page.waitForSelector('#log li[data-type="upload.cancelled"]')
    t.equal(await page.textContent('#upload-status'), 'Cancelled.')
  })

  t.test('notifications sent through the HTTP route appear on the page; another user\'s do not', async (t) => {
    const { base } = await startApp(t)
    const alice = await openDemo(t, base, 'alice')
    const bob = await openDemo(t, base, 'bob')

    t.same(await post(base, '/api/v1/notifications', { message: 'Maintenance at noon', level: 'warning' }), { delivered: 2 })
    for (const page of [alice, bob]) {
      t.match(await page.textContent('#log li[data-type="system.notification"]'), 'Maintenance at noon')
    }
    t.same(await post(base, '/api/v1/notifications', { message: 'Only for bob', targetUsers: ['bob'] }), { delivered: 1 })
    await bob.waitForSelector('#log li[data-type="system.notification"]:has-text("Only for bob")')

    // sent from the page's own form: reaches both pages
    await alice.fill('#notification-message', 'Hello from the form')
    await alice.click('#notification-send')
    await bob.waitForSelector('#log li[data-type="system.notification"]:has-text("Hello from the form")')
    await alice.waitForSelector('#log li[data-type="system.notification"]:has-text("Hello from the form")')
    t.equal(await alice.locator('#log li:has-text("Only for bob")').count(), 0, 'isolation: alice never saw bob\'s message')
  })

  t.test('the page reconnects by itself after the server restarts, with its subscriptions', async (t) => {
    const first = await startApp(t)
    const page = await openDemo(t, first.base, 'carol')
    await page.waitForSelector('input[data-event="review.updated"][data-subscribed="true"]')
    const connectionBefore = await page.textContent('#connection-info')

    await first.app.close()
    await page.waitForSelector('#state[data-state="reconnecting"]')
    const second = await startApp(t, first.port)
    await page.waitForSelector('#state[data-state="open"]')
    await page.waitForSelector('input[data-event="review.updated"][data-subscribed="true"]')
    t.not(await page.textContent('#connection-info'), connectionBefore, 'a new connection')

    t.same(await post(second.base, '/api/v1/reviews/r-7/changes', { changes: { status: 'merged' } }), { delivered: 1 }, 'subscription restored on the new server')
    t.match(await page.textContent('#log li[data-type="review.updated"]'), 'r-7')
    t.ok(await page.locator('#log li[data-type="client"]:has-text("connection lost")').count() > 0)
  })
}
