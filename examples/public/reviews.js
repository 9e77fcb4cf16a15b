// The reviews panel: private reviews on the channel `review:<id>`. Create a
// review, add or remove members (the owner), open one (subscribe to its
// channel: the server asks the review store whether this user is a member),
// post a change and watch the changes arrive, and who else is viewing it; a
// removed member's subscription ends with reason "revoked".
import { createViewersList } from '/viewers.js'

const $ = (selector) => document.querySelector(selector)

const WATCHING_TEXT = {
  none: () => 'Not watching a review.',
  subscribing: (channel) => `Opening ${channel}…`,
  waiting: (channel) => `${channel}: waiting for the connection…`,
  watching: (channel) => `Watching ${channel}`,
  forbidden: (channel, why) => `Cannot open ${channel}: ${why}`,
  revoked: (channel) => `Access to ${channel} revoked`,
  ended: (channel, why) => `Left ${channel} (${why})`
}

/**
 * @param {{
 *   api: (path: string, body?: unknown, method?: string) => Promise<Record<string, unknown>>,
 *   log: (type: string, text: string) => void,
 *   currentClient: () => import('/assets/realtime-client.js').RealtimeClient | undefined
 * }} page
 */
export function createReviewsPanel ({ api, log, currentClient }) {
  /** The open review: its channel, and the listener on the client that opened it. */
  const open = { reviewId: undefined, channel: undefined, stopListening: undefined }
  const viewers = createViewersList()

  function reviewId () {
    const input = $('#review-current')
    return input.reportValidity() ? input.value.trim() : undefined
  }

  function showWatching (state, why = '') {
    const badge = $('#review-watching')
    badge.dataset.state = state
    badge.textContent = WATCHING_TEXT[state](open.channel ?? '', why)
    $('#review-close').disabled = !['watching', 'subscribing', 'waiting'].includes(state)
  }

  function showResult (text) {
    $('#review-result').textContent = text
  }

  function showMembers (review) {
    if (review?.members !== undefined) $('#review-members').textContent = `Members: ${review.members.join(', ')}`
  }

  function addChange (message) {
    // the channel also carries presence.joined / presence.left: those feed the viewers list, not this one
    if (message.type !== 'review.updated') return
    const item = document.createElement('li')
    item.dataset.channel = message.channel
    const time = document.createElement('time')
    time.textContent = new Date(message.timestamp).toLocaleTimeString()
    const body = document.createElement('span')
    const changes = message.data?.changes ?? {}
    body.textContent = Object.entries(changes).map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`).join(', ') || '(no fields)'
    item.append(time, body)
    const feed = $('#review-feed')
    feed.prepend(item)
    while (feed.children.length > 100) feed.lastElementChild.remove()
    $('#review-feed-empty').hidden = true
  }

  function addNotice (text) {
    const item = document.createElement('li')
    item.className = 'notice'
    item.textContent = text
    $('#review-feed').prepend(item)
    $('#review-feed-empty').hidden = true
  }

  function forget () {
    open.stopListening?.()
    open.stopListening = undefined
    viewers.clear()
  }

  /** Subscribes to review:<id> on the current client (after closing the review open before). */
  async function openReview (id) {
    const client = currentClient()
    if (client === undefined || id === undefined) return
    if (open.channel !== undefined && open.reviewId !== id) await closeReview()
    forget()
    open.reviewId = id
    open.channel = `review:${id}`
    $('#review-feed').replaceChildren()
    $('#review-feed-empty').hidden = false
    const channel = open.channel
    open.stopListening = client.onChannel(channel, addChange)
    showWatching('subscribing')
    try {
      await client.subscribe({ channels: [channel] })
      if (open.channel === channel) showWatching('watching')
    } catch (error) {
      if (open.channel !== channel) return
      forget()
      showWatching('forbidden', error.reasons?.[0] ?? error.message)
    }
  }

  async function closeReview () {
    const client = currentClient()
    const channel = open.channel
    forget()
    open.channel = undefined
    open.reviewId = undefined
    showWatching('none')
    if (client !== undefined && channel !== undefined && client.channels.includes(channel)) {
      await client.unsubscribe({ channels: [channel] }).catch((error) => log('error', `unsubscribe ${channel}: ${error.message}`))
    }
  }

  async function createReview (event) {
    event.preventDefault()
    try {
      const review = await api('/reviews', { title: $('#review-title').value })
      $('#review-current').value = review.review_id
      showMembers(review)
      showResult(`Created ${review.review_id}: you own it.`)
      log('client', `review ${review.review_id} created`)
      await openReview(review.review_id)
    } catch (error) {
      showResult(`Failed: ${error.message}`)
    }
  }

  async function changeMember (method) {
    const id = reviewId()
    const member = $('#review-member')
    if (id === undefined || !member.reportValidity()) return
    const userId = member.value.trim()
    const base = `/reviews/${encodeURIComponent(id)}/members`
    try {
      const review = method === 'POST'
        ? await api(base, { userId })
        : await api(`${base}/${encodeURIComponent(userId)}`, undefined, 'DELETE')
      showMembers(review)
      showResult(method === 'POST' ? `${userId} may now open ${id}.` : `${userId} removed; ${review.revoked} connection(s) revoked.`)
    } catch (error) {
      showResult(`Failed: ${error.message}`)
    }
  }

  async function postChange (event) {
    event.preventDefault()
    const id = reviewId()
    if (id === undefined) return
    try {
      const { delivered } = await api(`/reviews/${encodeURIComponent(id)}/changes`, { changes: { status: $('#review-change').value } })
      showResult(`Change delivered to ${delivered} connection${delivered === 1 ? '' : 's'}.`)
    } catch (error) {
      showResult(`Failed: ${error.message}`)
    }
  }

  /** Wires a new client: the server ends or refuses the open review's subscription. */
  function attach (client) {
    forget()
    viewers.attach(client)
    client.on('subscription.ended', (data) => {
      log('subscription.ended', `${data.channel}: ${data.reason}`)
      if (data.channel !== open.channel) return
      forget()
      showWatching(data.reason === 'revoked' ? 'revoked' : 'ended', data.reason)
    })
    client.on('subscription.joined', (data) => log('subscription.joined', data.channel))
    // confirms opening the review, and its restore when the client subscribes again after a reconnect:
    // then ask who is viewing it (who came and went while the connection was down included)
    client.on('subscription.confirmed', (data) => {
      if (open.stopListening === undefined || !data.channels?.includes(open.channel)) return
      showWatching('watching')
      void viewers.show(client, open.channel)
    })
    // the open review could not be recovered after a reconnect: say so in its feed (its replayed changes appear as they come)
    client.on('gap', ({ stream, reason }) => {
      if (stream === open.channel) addNotice(`could not recover: ${reason}; some changes may be missing`)
    })
    // a restore after a reconnect is authorized again: a member removed meanwhile is refused
    client.on('error', (error) => {
      if (error.code === 'CHANNEL_FORBIDDEN' && open.channel !== undefined && error.details?.includes(open.channel)) {
        forget()
        showWatching('forbidden', error.reasons?.[0] ?? 'refused')
      }
    })
    // a review open on the previous client is opened again on this one
    if (open.reviewId !== undefined) void openReview(open.reviewId)
  }

  function setEnabled (isOpen) {
    for (const id of ['#review-create', '#review-open', '#review-member-add', '#review-member-remove', '#review-post']) $(id).disabled = !isOpen
    if (!isOpen && $('#review-watching').dataset.state === 'watching') showWatching('waiting')
    // nobody is known to be viewing while this page is not connected; the restore asks again
    if (!isOpen) viewers.clear()
  }

  $('#review-create-form').addEventListener('submit', (event) => { void createReview(event) })
  $('#review-open-form').addEventListener('submit', (event) => { event.preventDefault(); void openReview(reviewId()) })
  $('#review-close').addEventListener('click', () => { void closeReview() })
  $('#review-member-form').addEventListener('submit', (event) => { event.preventDefault(); void changeMember('POST') })
  $('#review-member-remove').addEventListener('click', () => { void changeMember('DELETE') })
  $('#review-change-form').addEventListener('submit', (event) => { void postChange(event) })
  showWatching('none')

  return { attach, setEnabled }
}
