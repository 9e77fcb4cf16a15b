// Recovery on the demo page in headless Chromium: the page is served through
// a TCP proxy that plays a network outage (test/helpers/chaos-proxy.ts); a
// review change posted meanwhile appears once the page is back, with
// "recovered 1 missed". A server restarted with its history in memory comes
// back empty: the page says it could not recover.
import t from 'tap'
import type { Page } from 'playwright-core'
import { withChromium, startApp, openDemo, post } from './demo-page.js'
import { startChaosProxy } from '../helpers/chaos-proxy.js'

async function createReview (page: Page): Promise<string> {
  await page.fill('#review-title', 'Recovery plan')
  await page.click('#review-create')
  await page.waitForSelector('#review-watching[data-state="watching"]')
  return await page.inputValue('#review-current')
}

withChromium((browser) => {
  t.test('a change posted while the page is cut off appears when it is back, with "recovered 1 missed"', async (t) => {
    const { base, port } = await startApp(t)
    const proxy = await startChaosProxy({ targetPorts: [port], cutEveryMs: 0 })
    t.teardown(() => proxy.close())
    const page = await openDemo(browser(), t, `http://127.0.0.1:${proxy.port}`, 'alice')
    const reviewId = await createReview(page)
    await post(base, `/api/v1/reviews/${reviewId}/changes`, { changes: { status: 'drafted' } }, 'alice')
    await page.waitForSelector('#review-feed li:has-text("status: drafted")')
    t.ok(await page.isHidden('#recovery'), 'no recovery notice before any reconnect')

    proxy.outage(true)
    await page.waitForSelector('#state[data-state="reconnecting"]')
    t.same(await post(base, `/api/v1/reviews/${reviewId}/changes`, { changes: { status: 'approved' } }, 'alice'), { delivered: 0 },
      'nobody was connected to get it live')
    proxy.outage(false)

    await page.waitForSelector('#recovery[data-state="recovered"]:has-text("recovered 1 missed")', { timeout: 15_000 })
    await page.waitForSelector('#review-feed li:has-text("status: approved")')
    t.equal(await page.locator('#review-feed li:has-text("status: approved")').count(), 1, 'the missed change, once')
    t.equal(await page.locator('#review-feed li:has-text("status: drafted")').count(), 1, 'the one seen before, not again')
    await page.waitForSelector(`#log li[data-type="recovery"]:has-text("review:${reviewId}: recovered 1 missed")`)
    await page.waitForSelector('#log li[data-type="recovery"]:has-text("inbox: recovered 0 missed")')
    t.equal(await page.locator('#review-feed li.notice').count(), 0, 'no "could not recover" in the feed')
  })

  t.test('a server restarted with its history in memory: the page says it could not recover (epoch_changed)', async (t) => {
    const first = await startApp(t)
    const page = await openDemo(browser(), t, first.base, 'bob')
    await first.app.close()
    await page.waitForSelector('#state[data-state="reconnecting"]')
    await startApp(t, { port: first.port })
    await page.waitForSelector('#recovery[data-state="gap"]:has-text("could not recover: epoch_changed (inbox)")', { timeout: 15_000 })
    await page.waitForSelector('#log li[data-type="recovery"]:has-text("inbox: could not recover: epoch_changed")')
  })
})
