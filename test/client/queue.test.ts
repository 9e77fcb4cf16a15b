import t from 'tap'
import { Type } from '@sinclair/typebox'
import { ClientErrorCode, RealtimeClientError, type StateChange } from '../../lib/client/index.js'
import { createClient, FakeClock, freePort, nextState, startRealtime, token } from './support.js'

t.test('messages sent while disconnected are queued up to maxQueueSize, then refused with QUEUE_FULL', async (t) => {
  const cancelled: string[] = []
  const server = await startRealtime(t, {
    realtime: {
      messages: {
        'upload.cancel': {
          schema: Type.Object({ upload_id: Type.String() }),
          handler: (data) => { cancelled.push((data as { upload_id: string }).upload_id) }
        }
      }
    }
  })
  const client = createClient(t, { url: server.url, token: token('max'), maxQueueSize: 3 })
  t.equal(client.cancelUpload('u1'), false, 'queued, not sent')
  t.equal(client.cancelUpload('u2'), false)
  const subscribed = client.subscribe('upload.progress')
  t.equal(client.queuedMessages, 3)

  t.throws(() => client.cancelUpload('u3'), { name: 'RealtimeClientError', code: ClientErrorCode.queueFull, message: /3 messages are already queued/ })
  await t.rejects(client.subscribe('file.ready'), { code: ClientErrorCode.queueFull })
  t.equal(client.queuedMessages, 3, 'refused messages are not kept')

  await client.connect()
  t.equal(client.queuedMessages, 0, 'flushed on open')
  t.match(await subscribed, { events: ['upload.progress'], subscriptions: ['upload.progress'] })
  t.same(cancelled, ['u1', 'u2'], 'in the order they were sent')
  t.equal(client.cancelUpload('u4'), true, 'sent at once while open')
})

t.test('close() rejects queued requests and reports discarded messages: nothing vanishes silently', async (t) => {
  const port = await freePort()
  const client = createClient(t, { url: `ws://127.0.0.1:${port}/ws`, token: token('ned'), clock: new FakeClock() })
  client.connect()
  client.cancelUpload('u1')
  const subscribed = client.subscribe('upload.progress')
  const pinged = client.ping()
  const closed = new Promise<StateChange>(resolve => client.on('state', (change) => { if (change.state === 'closed') resolve(change) }))
  client.close()
  await t.rejects(subscribed, { code: ClientErrorCode.closed })
  await t.rejects(pinged, { code: ClientErrorCode.closed })
  t.match(await closed, { state: 'closed', discardedMessages: 1 })
  await t.rejects(client.waitForOpen(), RealtimeClientError)
})

t.test('waitForOpen() resolves at once when open and can time out', async (t) => {
  const port = await freePort()
  const clock = new FakeClock()
  const client = createClient(t, { url: `ws://127.0.0.1:${port}/ws`, token: token('ola'), clock })
  const waiting = client.waitForOpen({ timeoutMs: 1000 })
  client.connect()
  clock.advance(1000)
  await t.rejects(waiting, { code: ClientErrorCode.timeout })

  const server = await startRealtime(t)
  const other = createClient(t, { url: server.url, token: token('ola') })
  const established = await other.connect()
  t.equal(await other.ready(), established, 'already open: same connection.established')
  t.equal(other.connection, established)
  const controller = new AbortController()
  const aborted = client.waitForOpen({ signal: controller.signal })
  controller.abort(new Error('gave up'))
  await t.rejects(aborted, { message: 'gave up' })
  client.close()
  await nextState(client, 'closed')
})
