// The demo page's reviews panel in headless Chromium: two browser contexts as
// two users, a private review on the channel review:<id>, live changes, and
// a revocation that ends the removed member's subscription, and who is
// viewing the open review (channel presence), live.
import t from 'tap'
import type { Page } from 'playwright-core'
import { realtimeOptionsFromEnv } from '../../examples/config.js'
import { withChromium, startApp, openDemo, post } from './demo-page.js'

async function postChange (page: Page, status: string): Promise<void> {
  await page.fill('#review-change', status)
  await page.click('#review-post')
}

const viewers = async (page: Page): Promise<string[]> => page.$$eval('#review-viewers li', items => items.map(item => item.getAttribute('data-user') ?? ''))

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

  t.test('the reviews panel lists who is viewing the open review: bob arrives live, and drops out after the grace when he leaves', async (t) => {
    // the example reads the grace from REALTIME_PRESENCE_GRACE_MS: small, so leaving shows quickly
    const { base } = await startApp(t, { realtime: realtimeOptionsFromEnv({ REALTIME_PRESENCE_GRACE_MS: '200' }) })
    const alice = await openDemo(browser(), t, base, 'alice')
    await alice.fill('#review-title', 'Viewers')
    await alice.click('#review-create')
    await alice.waitForSelector('#review-viewers li[data-user="alice"]')
    const reviewId = await alice.inputValue('#review-current')
    t.same(await viewers(alice), ['alice'], 'alice sees herself viewing her new review')
    t.match(await alice.textContent('#review-viewers li[data-user="alice"]'), /\(you\)/)
    t.equal(await alice.textContent('#review-viewers-count'), '1 viewing')
    await alice.fill('#review-member', 'bob')
    await alice.click('#review-member-add')
    await alice.waitForSelector('#review-members:has-text("alice, bob")')

    // bob, a member, opens it in another browser context: he gets the list, and alice's page gets him, live
    const bob = await openDemo(browser(), t, base, 'bob')
    await bob.fill('#review-current', reviewId)
    await bob.click('#review-open')
    await bob.waitForSelector('#review-viewers li[data-user="alice"]')
    await alice.waitForSelector('#review-viewers li[data-user="bob"]')
    t.same(await viewers(alice), ['alice', 'bob'], 'bob appears on alice\'s page')
    t.same(await viewers(bob), ['alice', 'bob'], 'bob\'s page lists alice and himself')
    t.equal(await alice.textContent('#review-viewers-count'), '2 viewing')

    // bob closes the review (unsubscribes): gone from alice's list once the grace is over
    await bob.click('#review-close')
    await alice.waitForSelector('#review-viewers li[data-user="bob"]', { state: 'detached' })
    t.same(await viewers(alice), ['alice'])
    t.equal(await bob.isHidden('#review-viewers-card'), true, 'a closed review shows no viewers')

    // bob opens it again, then closes his page: gone again after the grace
    await bob.click('#review-open')
    await alice.waitForSelector('#review-viewers li[data-user="bob"]')
    await bob.context().close()
    await alice.waitForSelector('#review-viewers li[data-user="bob"]', { state: 'detached' })
    t.same(await viewers(alice), ['alice'], 'a closed page leaves the review')
  })
})
