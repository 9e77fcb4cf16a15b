// Who is viewing the open review: asked once when the review opens (and
// again after a reconnect restores it) with client.presence(channel), then
// kept live by presence.joined / presence.left. A user with two tabs is one
// viewer; one who closes the review drops out after the server's grace
// (REALTIME_PRESENCE_GRACE_MS), so a page reload does not flicker.
const $ = (selector) => document.querySelector(selector)

export function createViewersList () {
  /** The channel whose viewers are shown, and the users in it. */
  let channel
  const viewers = new Set()
  /** How many are there when the server names nobody (a count-only namespace, or past its cap). */
  let countOnly

  function render (self) {
    const list = $('#review-viewers')
    list.replaceChildren(...[...viewers].sort().map((userId) => {
      const item = document.createElement('li')
      item.dataset.user = userId
      item.textContent = userId === self ? `${userId} (you)` : userId
      return item
    }))
    const count = countOnly ?? viewers.size
    $('#review-viewers-count').textContent = channel === undefined ? '' : `${count} viewing`
    $('#review-viewers-card').hidden = channel === undefined
  }

  /** Shows the viewers of `reviewChannel` on `client` (which must be subscribed to it). */
  async function show (client, reviewChannel) {
    channel = reviewChannel
    try {
      const state = await client.presence(reviewChannel)
      if (channel !== reviewChannel) return // another review opened meanwhile
      viewers.clear()
      for (const user of state.users ?? []) viewers.add(user.user_id)
      countOnly = state.users === undefined ? state.count : undefined
    } catch {
      // the subscription ended or the connection went meanwhile: what ends it clears the list
    }
    render(client.connection?.user_id)
  }

  function clear () {
    channel = undefined
    viewers.clear()
    countOnly = undefined
    render()
  }

  /** Wires a new client's presence events. */
  function attach (client) {
    const apply = (isIn) => (data) => {
      if (data.channel !== channel) return
      // past the server's cap the state has no names: keep the count, not a partial list
      if (countOnly !== undefined) countOnly = Math.max(0, countOnly + (isIn ? 1 : -1))
      else if (isIn) viewers.add(data.user_id)
      else viewers.delete(data.user_id)
      render(client.connection?.user_id)
    }
    client.on('presence.joined', apply(true))
    client.on('presence.left', apply(false))
  }

  clear()
  return { show, clear, attach }
}
