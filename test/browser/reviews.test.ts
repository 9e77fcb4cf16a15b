// The demo page's reviews panel in headless Chromium: two browser contexts as
// two users, a private review on the channel review:<id>, live changes, and
// a revocation that ends the removed member's subscription.
import t from 'tap'
import type { Page } from 'playwright-core'
import { withChromium, startApp, openDemo, post } from './demo-page.js'

async function postChange (page: Page, status: string): Promise<void> {
  await page.fill('#review-change', status)
  await page.click('#review-post')
}

withChromium((browser) => {
  t.test('alice shares a review with bob, bob watches its changes live, then alice revokes bob', async (t) => {
    const { base } = await startApp(t)
    const alice = await openDemo(browser(), t, base, 'alice')
    const bob = await openDemo(browser(), t, base, 'bob')

    await alice.fill('#review-title', 'Launch plan')
    await alice.click('#review-create')
    await alice.waitForSelector('#review-watching[data-state="watching"]')
    const reviewId = await alice.inputValue('#review-current')
    t.match(reviewId, /^rv-[0-9a-f]{12}$/, 'the page shows the new review\'s id')
    t.equal(await alice.textContent('#review-watching'), `Watching review:${reviewId}`, 'its owner watches it at once')

    // not a member yet: the server refuses the channel
    await bob.fill('#review-current', reviewId)
    await bob.click('#review-open')
    await bob.waitForSelector('#review-watching[data-state="forbidden"]')
    t.match(await bob.textContent('#review-watching'), 'not a member of this review')

    await alice.fill('#review-member', 'bob')
    await alice.click('#review-member-add')
    await alice.waitForSelector('#review-members:has-text("alice, bob")')
    await bob.click('#review-open')
    await bob.waitForSelector('#review-watching[data-state="watching"]')

    await postChange(alice, 'approved')
    await bob.waitForSelector('#review-feed li:has-text("status: approved")')
    await alice.waitForSelector('#review-feed li:has-text("status: approved")')
    t.equal(await bob.getAttribute('#review-feed li', 'data-channel'), `review:${reviewId}`)
    t.match(await alice.textContent('#review-result'), 'delivered to 2 connections')

    await alice.fill('#review-member', 'bob')
    await alice.click('#review-member-remove')
    await bob.waitForSelector('#review-watching[data-state="revoked"]')
    t.equal(await bob.textContent('#review-watching'), `Access to review:${reviewId} revoked`)
    await bob.waitForSelector(`#log li[data-type="subscription.ended"]:has-text("review:${reviewId}: revoked")`)
    await alice.waitForSelector('#review-result:has-text("1 connection(s) revoked")')

    // after the revocation: alice still sees changes, bob does not (a marker sent to bob after the change proves it)
    await postChange(alice, 'rejected')
    await alice.waitForSelector('#review-feed li:has-text("status: rejected")')
    t.same(await post(base, '/api/v1/notifications', { message: 'marker after the revocation', targetUsers: ['bob'] }), { delivered: 1 })
    await bob.waitForSelector('#log li[data-type="system.notification"]:has-text("marker after the revocation")')
    t.equal(await bob.locator('#review-feed li:has-text("rejected")').count(), 0, 'bob\'s feed stops at the revocation')
    t.equal(await bob.locator('#log li:has-text("rejected")').count(), 0, 'and nothing of it reached his page')
    t.equal(await bob.locator('#review-feed li').count(), 1)

    // and bob cannot open it again
    await bob.click('#review-open')
    await bob.waitForSelector('#review-watching[data-state="forbidden"]')
  })
})
