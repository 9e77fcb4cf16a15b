// The demo page's "Online now" list in headless Chromium: it changes as users come and go.
import t from 'tap'
import type { Page } from 'playwright-core'
import { withChromium, startApp, openDemo } from './demo-page.js'

const onlineList = async (page: Page): Promise<string[]> => page.$$eval('#online li', items => items.map(item => item.getAttribute('data-user') ?? ''))

withChromium((browser) => {
  t.test('the online list shows who comes, and drops who leaves after the grace', async (t) => {
    const { base } = await startApp(t, { realtime: { presence: { offlineGraceMs: 200 } } })

    const alice = await openDemo(browser(), t, base, 'alice')
    await alice.waitForSelector('#online li[data-user="alice"]')
    t.same(await onlineList(alice), ['alice'], 'alice sees herself')
    t.match(await alice.textContent('#online li[data-user="alice"]'), /\(you\)/)

    const bob = await openDemo(browser(), t, base, 'bob')
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
})
