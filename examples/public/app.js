// The demo page: the packaged client (bundled at /assets/realtime-client.js)
// driving a small UI. No framework: a few elements and listeners.
import { RealtimeClient } from '/assets/realtime-client.js'
import { createReviewsPanel } from '/reviews.js'
import { trackPresence } from './presence.js'

const API = '/api/v1'
const UPLOAD_EVENTS = ['upload.progress', 'upload.completed', 'upload.cancelled']
const $ = (selector) => document.querySelector(selector)
const checkboxes = () => [...document.querySelectorAll('#subscriptions input[data-event]')]

/** @type {RealtimeClient | undefined} */
let client
let userId = ''
let token = ''
let uploadId
/** What the recoveries since the last (re)connection brought back, and what they could not. */
const recovery = { missed: 0, failures: [] }

// ---- HTTP ------------------------------------------------------------------

async function api (path, body, method = 'POST') {
  const headers = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token !== '') headers.authorization = `Bearer ${token}`
  const response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const payload = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error(payload.message ?? `HTTP ${response.status}`)
  return payload
}

// A fresh token for every connection attempt: the client calls this before each one
async function freshToken () {
  const { token: issued } = await api('/auth/token', { userId })
  token = issued
  return issued
}

// ---- connection --------------------------------------------------------------

function connect (event) {
  event.preventDefault()
  const input = $('#user-id')
  if (!input.reportValidity()) return
  client?.close()
  userId = input.value.trim()
  token = ''
  history.replaceState(null, '', `?user=${encodeURIComponent(userId)}`)
  document.title = `${userId} · fastify-realtime demo`

  client = new RealtimeClient({
    url: `${API}/ws`,
    token: freshToken,
    backoff: { initialDelayMs: 250, maxDelayMs: 5000 },
    stableAfterMs: 5000,
    // what is ticked now is subscribed on every (re)connection
    subscriptions: checkboxes().filter(box => box.checked).map(box => box.dataset.event)
  })
  const current = client
  trackPresence(client, () => token, userId)
  client.on('state', (change) => {
    if (client !== current) return
    showState(change.state)
    if (change.state === 'reconnecting' && change.previous === 'open') log('client', 'connection lost, reconnecting…')
    if (change.state === 'closed' && change.error) log('error', `stopped: ${change.error.message}`)
  })
  client.on('open', (established) => {
    recovery.missed = 0
    recovery.failures = []
    $('#connection-info').textContent = `${established.user_id} · ${established.connection_id.slice(0, 8)}`
    log('client', `connected as ${established.user_id}`)
    markSubscribed(current.subscriptions)
  })
  client.on('reconnect', ({ attempt, delayMs }) => {
    $('#connection-info').textContent = `retry ${attempt} in ${(delayMs / 1000).toFixed(1)} s`
  })
  client.on('error', (error) => {
    if (error.code === 'CONNECTION_LOST' || error.code === 'TOKEN_UNAVAILABLE') return // shown by the state
    log('error', `${error.code}: ${error.message}`)
  })
  // after a reconnect the client sends its positions (the inbox in the handshake, each channel
  // with its re-subscribe) and the server replays what was missed, then says how it went
  client.on('recovered', ({ stream, missed }) => {
    recovery.missed += missed
    showRecovery()
    log('recovery', `${stream}: recovered ${missed} missed`)
  })
  // nothing could be replayed (history lost, too old, too many...): the app must refetch what the stream carries
  client.on('gap', ({ stream, reason }) => {
    recovery.failures.push(`${reason} (${stream})`)
    showRecovery()
    log('recovery', `${stream}: could not recover: ${reason}; messages may be missing`)
  })
  client.on('subscription.confirmed', (data) => markSubscribed(data.subscriptions))
  client.on('unsubscription.confirmed', (data) => markSubscribed(data.subscriptions))
  client.on('system.notification', (data) => log('system.notification', data.message, data.level))
  client.on('review.updated', (data) => log('review.updated', `${data.review_id}: ${JSON.stringify(data.changes)}`))
  client.on('file.processing', (data) => log('file.processing', `${data.file_id}: ${data.status}${data.progress === undefined ? '' : ` (${data.progress} %)`}`))
  client.on('file.ready', (data) => log('file.ready', `${data.file_id}: ${data.status}`))
  client.on('upload.progress', (data) => showUpload(data.upload_id, data.progress, 'running'))
  client.on('upload.completed', (data) => {
    showUpload(data.upload_id, 100, 'done')
    log('upload.completed', `${data.upload_id.slice(0, 15)}… completed`)
  })
  client.on('upload.cancelled', (data) => {
    showUpload(data.upload_id, undefined, 'cancelled')
    log('upload.cancelled', `${data.upload_id.slice(0, 15)}… cancelled`)
  })
  reviews.attach(client)
  client.connect().catch(() => {}) // failures arrive on 'state'
}

function disconnect () {
  client?.close()
  $('#connection-info').textContent = ''
}

function showState (state) {
  const badge = $('#state')
  badge.textContent = state
  badge.dataset.state = state
  badge.className = `state state-${state}`
  const isOpen = state === 'open'
  const isActive = state !== 'closed'
  $('#disconnect').disabled = !isActive
  for (const id of ['#upload-start', '#notification-send', '#review-send']) $(id).disabled = !isOpen
  reviews.setEnabled(isOpen)
  if (!isActive) markSubscribed([])
}

function showRecovery () {
  const notice = $('#recovery')
  const parts = [`recovered ${recovery.missed} missed`]
  if (recovery.failures.length > 0) parts.push(`could not recover: ${recovery.failures.join(', ')}`)
  notice.textContent = parts.join(' · ')
  notice.dataset.state = recovery.failures.length > 0 ? 'gap' : 'recovered'
  notice.hidden = false
}

// ---- subscriptions -------------------------------------------------------------

function markSubscribed (subscriptions) {
  const active = new Set(subscriptions)
  for (const box of checkboxes()) {
    box.dataset.subscribed = String(active.has(box.dataset.event))
  }
}

async function toggle (box) {
  if (client === undefined || client.state === 'closed') return // subscribed on connect
  const event = box.dataset.event
  const label = box.closest('label')
  label.classList.add('pending')
  try {
    if (box.checked) await client.subscribe(event)
    else await client.unsubscribe(event)
  } catch (error) {
    box.checked = !box.checked
    log('error', `${box.checked ? 'unsubscribe' : 'subscribe'} ${event}: ${error.message}`)
  } finally {
    label.classList.remove('pending')
  }
}

// ---- uploads --------------------------------------------------------------------

async function startUpload () {
  // progress only reaches connections subscribed to it: subscribe first
  const missing = UPLOAD_EVENTS.filter(event => !client.subscriptions.includes(event))
  if (missing.length > 0) {
    for (const box of checkboxes()) if (missing.includes(box.dataset.event)) box.checked = true
    await client.subscribe(missing)
  }
  uploadId = undefined
  showUpload(undefined, 0, 'running')
  try {
    const { upload_id: id } = await api('/uploads', { totalBytes: Number($('#upload-size').value) || 1 })
    uploadId ??= id
    log('client', `upload ${id.slice(0, 15)}… started`)
  } catch (error) {
    showUpload(undefined, 0, 'idle')
    log('error', `upload: ${error.message}`)
  }
}

function cancelUpload () {
  if (uploadId !== undefined) client.cancelUpload(uploadId)
}

function showUpload (id, progress, phase) {
  if (id !== undefined) uploadId ??= id
  if (id !== undefined && id !== uploadId) return // an older upload still reporting
  const bar = $('#upload-progress')
  if (progress !== undefined) {
    bar.setAttribute('aria-valuenow', String(progress))
    $('#upload-bar').style.width = `${progress}%`
    $('#upload-percent').textContent = `${progress} %`
  }
  bar.classList.toggle('done', phase === 'done')
  bar.classList.toggle('cancelled', phase === 'cancelled')
  $('#upload-cancel').disabled = phase !== 'running'
  $('#upload-status').textContent = {
    idle: 'No upload yet.', running: 'Uploading…', done: 'Completed.', cancelled: 'Cancelled.'
  }[phase]
}

// ---- sending through HTTP ----------------------------------------------------------

async function sendNotification (event) {
  event.preventDefault()
  const targets = $('#notification-targets').value.split(',').map(s => s.trim()).filter(Boolean)
  const body = { message: $('#notification-message').value, level: $('#notification-level').value }
  if (targets.length > 0) body.targetUsers = targets
  await report(api('/notifications', body))
}

async function sendReview (event) {
  event.preventDefault()
  const reviewId = encodeURIComponent($('#review-id').value.trim())
  await report(api(`/reviews/${reviewId}/changes`, { changes: { status: $('#review-status').value } }))
}

async function report (request) {
  try {
    const { delivered } = await request
    $('#send-result').textContent = `Delivered to ${delivered} connection${delivered === 1 ? '' : 's'}.`
  } catch (error) {
    $('#send-result').textContent = `Failed: ${error.message}`
  }
}

// ---- event log -------------------------------------------------------------------------

function log (type, text, level) {
  const item = document.createElement('li')
  item.dataset.type = type
  const time = document.createElement('time')
  time.textContent = new Date().toLocaleTimeString()
  const tag = document.createElement('span')
  tag.className = `tag ${type.split('.')[0]}`
  tag.textContent = type
  const body = document.createElement('span')
  body.textContent = text
  if (level !== undefined) body.className = `level-${level}`
  item.append(time, tag, body)
  const list = $('#log')
  list.prepend(item)
  while (list.children.length > 200) list.lastElementChild.remove()
  $('#log-empty').hidden = true
}

// ---- wiring ------------------------------------------------------------------------------

const reviews = createReviewsPanel({ api, log, currentClient: () => client })

const requested = new URLSearchParams(location.search).get('user')
$('#user-id').value = requested ?? `user-${Math.random().toString(36).slice(2, 6)}`
for (const box of checkboxes()) {
  box.checked = ['upload.progress', 'upload.completed', 'upload.cancelled', 'review.updated'].includes(box.dataset.event)
  box.addEventListener('change', () => { void toggle(box) })
}
$('#connect-form').addEventListener('submit', connect)
$('#disconnect').addEventListener('click', disconnect)
$('#upload-start').addEventListener('click', () => { void startUpload() })
$('#upload-cancel').addEventListener('click', cancelUpload)
$('#notification-form').addEventListener('submit', (event) => { void sendNotification(event) })
$('#review-form').addEventListener('submit', (event) => { void sendReview(event) })
$('#clear-log').addEventListener('click', () => { $('#log').replaceChildren(); $('#log-empty').hidden = false })
showState('closed')
showUpload(undefined, 0, 'idle')
