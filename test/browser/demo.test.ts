// End-to-end: the demo page in headless Chromium (Debian's package, driven by
// playwright-core) against the example app on a real port.
import t from 'tap'
import { withChromium, startApp, openDemo as openPage, post, type Teardown } from './demo-page.js'

withChromium((browser) => {
  const openDemo = (t: Teardown, base: string, userId: string) => openPage(browser(), t, base, userId)

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
    const { base } = await startApp(t, { uploadStepMs: 1000 })
    const page = await openDemo(t, base, 'erin')
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
    const second = await startApp(t, { port: first.port })
    await page.waitForSelector('#state[data-state="open"]')
    await page.waitForSelector('input[data-event="review.updated"][data-subscribed="true"]')
    t.not(await page.textContent('#connection-info'), connectionBefore, 'a new connection')

    t.same(await post(second.base, '/api/v1/reviews/r-7/changes', { changes: { status: 'merged' } }), { delivered: 1 }, 'subscription restored on the new server')
    t.match(await page.textContent('#log li[data-type="review.updated"]'), 'r-7')
    t.ok(await page.locator('#log li[data-type="client"]:has-text("connection lost")').count() > 0)
  })
})
