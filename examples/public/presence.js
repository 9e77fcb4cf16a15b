// The demo's "Online now" card: who of the users that logged in is online,
// fetched once per connection (one bulk query on the server) and kept live by
// user.status_changed. Its own module, so the rest of the page does not change.
const API = '/api/v1'
const $ = (selector) => document.querySelector(selector)

/**
 * @param {import('/assets/realtime-client.js').RealtimeClient} client
 * @param {() => string} token the current token (the page renews it per connection)
 * @param {string} self the page's own user
 */
export function trackPresence (client, token, self) {
  const online = new Set()
  const render = () => {
    const list = $('#online')
    list.replaceChildren(...[...online].sort().map((userId) => {
      const item = document.createElement('li')
      item.dataset.user = userId
      item.textContent = userId === self ? `${userId} (you)` : userId
      return item
    }))
    $('#online-count').textContent = online.size === 0 ? '' : String(online.size)
  }
  client.on('user.status_changed', (data) => {
    if (data.status === 'online') online.add(data.user_id)
    else online.delete(data.user_id)
    render()
  })
  client.on('state', (change) => {
    if (change.state !== 'open') {
      online.clear()
      render()
    }
  })
  client.on('open', async () => {
    try {
      // subscribe before asking, so a change in between is not missed
      await client.subscribe('user.status_changed')
      const response = await fetch(`${API}/presence/users`, { headers: { authorization: `Bearer ${token()}` } })
      if (!response.ok) return
      for (const userId of (await response.json()).online) online.add(userId)
      render()
    } catch {
      // the connection went away meanwhile: the next 'open' asks again
    }
  })
  render()
}
