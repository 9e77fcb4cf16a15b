// The subscribers of bench/history.mjs, in their own process so that the
// server's CPU time is the server's alone. Commands over JSON lines (see
// common.mjs): connect { urls }, subscribe { channel }, waitFor { total }.
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { randomUUID } from 'node:crypto'
import { reply, serveControl } from './common.mjs'

const require = createRequire(import.meta.url)
const WebSocket = require('ws')

let clients = []
let receipts = 0
let waiting

function count () {
  receipts++
  if (waiting !== undefined && receipts >= waiting.total) {
    const { resolve } = waiting
    waiting = undefined
    resolve()
  }
}

serveControl({
  async connect ({ urls }) {
    clients = await Promise.all(urls.map(async (url) => {
      const ws = new WebSocket(url)
      const client = { ws, answers: new Map() }
      ws.on('message', (raw) => {
        // the bench's notes: counted without parsing
        if (raw[9] === 110 && raw.toString('latin1', 0, 14) === '{"type":"note"') { count(); return }
        const message = JSON.parse(raw.toString())
        client.answers.get(message.data?.request_id)?.(message)
      })
      ws.on('error', () => {})
      await once(ws, 'open')
      return client
    }))
    return { connected: clients.length }
  },
  async subscribe ({ channel }) {
    await Promise.all(clients.map(client => new Promise((resolve, reject) => {
      const id = randomUUID()
      client.answers.set(id, (message) => {
        client.answers.delete(id)
        if (message.type === 'subscription.confirmed') resolve()
        else reject(new Error(JSON.stringify(message.data)))
      })
      client.ws.send(JSON.stringify({ type: 'subscribe', id, data: { channels: [channel] } }))
    })))
    return { receipts }
  },
  async waitFor ({ total }) {
    if (receipts < total) await new Promise(resolve => { waiting = { total, resolve } })
    return { receipts }
  },
  close () {
    for (const client of clients) client.ws.terminate()
    clients = []
    return {}
  }
}, { maxLifeMs: 20 * 60_000 })
reply({ ready: true })
