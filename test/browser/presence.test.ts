// The demo page's "Online now" list in headless Chromium: it changes as users come and go.
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp } from '../../examples/app.js'

const CHROMIUM = '/usr/bin/chromium'
const ROOT = path.resolve(__dirname, '..', '..')
const OUTPUT = path.join(ROOT, 'test-output')
const TIMEOUT_MS = 10_000

interface Teardown { teardown (fn: () => unknown): void, passing (): boolean, name: string }

if (!existsSync(CHROMIUM)) {
  const why = `${CHROMIUM} not found: install it with \`apt-get install -y chromium\``
  if (process.env.CI === 'true') t.fail(`browser tests cannot run under CI: ${why}`)
  else t.test('browser presence test', { skip: why }, async () => {})
} else {
  if (!existsSync(path.join(ROOT, 'dist', 'browser', 'realtime-client.js'))) {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-client.mjs')], { stdio: 'inherit' })
  }
  let browser: Browser
  t.before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'] })
  })
  t.teardown(() => browser.close())

  async function openDemo (t: Teardown, base: string, userId: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    page.setDefaultTimeout(TIMEOUT_MS)
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))
    t.teardown(async () => {
      if (!t.passing()) {
        mkdirSync(OUTPUT, { recursive: true })
        await page.screenshot({ path: path.join(OUTPUT, `presence-${userId}.png`), fullPage: true }).catch(() => {})
      }
      await context.close()
      if (problems.length > 0) throw new Error(`errors on the page: ${problems.join(' | ')}`)
    })
    await page.goto(`${base}/?user=${encodeURIComponent(userId)}`)
    await page.click('#connect')
    await page.waitForSelector('#state[data-state="open"]')
    return page
  }

  const onlineList = async (page: Page): Promise<string[]> => page.$$eval('#online li', items => items.map(item => item.getAttribute('data-user') ?? ''))

  t.test('the online list shows who comes, and drops who leaves after the grace', async (t) => {
    const app = await buildApp({ jwtSecret: 'browser-presence-secret-long-enough', realtime: { presence: { offlineGraceMs: 200 } } })
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => app.close())
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

    const alice = await openDemo(t, base, 'alice')
    await alice.waitForSelector('#online li[data-user="alice"]')
    t.same(await onlineList(alice), ['alice'], 'alice sees herself')
    t.match(await alice.textContent('#online li[data-user="alice"]'), /\(you\)/)

    const bob = await openDemo(t, base, 'bob')
    await bob.waitForSelector('#online li[data-user="alice"]')
    await bob.waitForSelector('#online li[data-user="bob"]')
    await alice.waitForSelector('#online li[data-user="bob"]')
    t.same(await onlineList(alice), ['alice', 'bob'], 'bob arrives on alice\'s page, live')
    t.equal(await alice.textContent('#online-count'), '2')

    await bob.click('#disconnect')
    await alice.waitForSelector('#online li[data-user="bob"]', { state: 'detached' })
    t.same(await onlineList(alice), ['alice'], 'bob leaves alice\'s page once his grace is over')
    t.same(await onlineList(bob), [], 'a closed page lists nobody')
  })
}
