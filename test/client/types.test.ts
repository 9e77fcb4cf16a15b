// Type tests: `npm test` runs tsc over this file; at run time it only checks the listeners' arguments.
import t from 'tap'
import type { RealtimeClient as PackagedClient } from 'fastify-realtime/client'
import { RealtimeClient, type ClientEventMap } from '../../lib/client/index.js'
import { NodeWebSocket } from './support.js'

// a host app adds its own events by declaration merging, on the package it imports.
// The same program also sees lib/ (the example app's types meet both): merge into
// both copies so they stay identical.
declare module 'fastify-realtime/client' {
  interface RealtimeEvents {
    'order.shipped': { order_id: string, carrier: string }
  }
}
declare module '../../lib/client/index.js' {
  interface RealtimeEvents {
    'order.shipped': { order_id: string, carrier: string }
  }
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T extends true> (_: T): void {}

// the packaged client sees the merged event with its data type
export function typedHandlers (client: PackagedClient): void {
  client.on('order.shipped', (data) => { expectType<Equal<typeof data, { order_id: string, carrier: string }>>(true) })
  client.on('upload.progress', (data, envelope) => {
    expectType<Equal<typeof data.progress, number>>(true)
    expectType<Equal<typeof envelope.type, 'upload.progress'>>(true)
  })
  client.on('state', (change) => { expectType<Equal<typeof change.state, 'connecting' | 'open' | 'reconnecting' | 'closed'>>(true) })
  client.on('error', (error) => { const code: string = error.code; void code })
  client.on('recovered', ({ stream, missed }) => { expectType<Equal<typeof stream, string>>(true); expectType<Equal<typeof missed, number>>(true) })
  client.on('gap', ({ reason }) => {
    expectType<Equal<typeof reason, 'epoch_changed' | 'too_old' | 'too_many' | 'no_history' | 'forbidden' | 'unavailable' | 'gap'>>(true)
  })
  client.on('recovery.result', (data) => { expectType<Equal<keyof typeof data.streams, string>>(true) })
  const positions: Record<string, { epoch: string, offset: number }> = client.positions
  void positions
  // @ts-expect-error a misspelt event name does not compile
  client.on('upload.progres', () => {})
  // @ts-expect-error the data of a client message is checked
  client.send('upload.cancel', { uploadId: 'x' })
  client.send('upload.cancel', { upload_id: 'x' })
}

t.test('listeners of server messages get (data, envelope); client events get their payload', async (t) => {
  const client = new RealtimeClient({ url: 'ws://127.0.0.1:1/ws', token: 'x', WebSocket: NodeWebSocket })
  const args: ClientEventMap['upload.progress'][] = []
  client.on('upload.progress', (...received) => { args.push(received) })
  t.same(args, [])
  t.equal(client.state, 'closed', 'nothing happens before connect()')
})
