// The screenshot in docs/demo.png: the demo page as alice, after an upload,
// a notification and three changes of a review she shared with bob (whose
// page, in another browser context, watches it). Headless /usr/bin/chromium.
//   npm run build && node scripts/demo-screenshot.mjs [docs/demo.png]
import { chromium } from 'playwright-core'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const require = createRequire(import.meta.url)
const { buildApp } = require(path.join(root, 'examples', 'dist', 'app.js'))
const app = await buildApp({ jwtSecret: 'screenshot-secret-long-enough-for-hs256', uploadStepMs: 30 })
await app.listen({ port: 0, host: '127.0.0.1' })
const base = `http://127.0.0.1:${app.server.address().port}`
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] })
async function open (user) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  await page.goto(`${base}/?user=${user}`)
  await page.click('#connect')
  await page.waitForSelector('#state[data-state="open"]')
  return page
}
const alice = await open('alice')
const bob = await open('bob')
await alice.check('input[data-event="file.ready"]')
await alice.click('#upload-start')
await alice.waitForSelector('#upload-progress[aria-valuenow="100"]')
await alice.fill('#notification-message', 'Deploy finished on production')
await alice.click('#notification-send')
await alice.waitForSelector('#log li[data-type="system.notification"]')
await alice.fill('#review-title', 'Launch plan')
await alice.click('#review-create')
await alice.waitForSelector('#review-watching[data-state="watching"]')
const id = await alice.inputValue('#review-current')
await alice.fill('#review-member', 'bob')
await alice.click('#review-member-add')
await alice.waitForSelector('#review-members:has-text("bob")')
await bob.fill('#review-current', id)
await bob.click('#review-open')
await bob.waitForSelector('#review-watching[data-state="watching"]')
for (const status of ['in review', 'changes requested', 'approved']) {
  await alice.fill('#review-change', status)
  await alice.click('#review-post')
  await alice.waitForSelector(`#review-feed li:has-text("status: ${status}")`)
}
const file = process.argv[2] ?? path.join(root, 'docs', 'demo.png')
await alice.screenshot({ path: file, fullPage: true })
console.log(`wrote ${path.relative(process.cwd(), file)}`)
await browser.close()
await app.close()
