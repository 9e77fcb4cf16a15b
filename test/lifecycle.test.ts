import t from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import WebSocket from 'ws'

const root = path.resolve(__dirname, '..')

t.test('after app.close() no timer, socket or server of the plugin is left in the process', async (t) => {
  const output = execFileSync(process.execPath, [path.join(__dirname, 'fixtures', 'lifecycle.js')], { cwd: root, timeout: 20000 }).toString()
  const { code, alive } = JSON.parse(output) as { code: number, alive: string[] }
  t.equal(code, 1001, 'the client saw going away')
  // the 50 ms setTimeout the fixture awaited has fired; nothing else may remain
  t.same(alive.filter(name => name !== 'Timeout'), [], 'no sockets, servers or handles')
  t.ok(alive.filter(name => name === 'Timeout').length <= 1, `timers left: ${alive.join(', ')}`)
})

t.test('the example server closes every client with 1001 on SIGTERM and exits', async (t) => {
  const server = spawn(process.execPath, [path.join(root, 'examples', 'dist', 'server.js')], {
    cwd: root,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', JWT_SECRET: 'sigterm-test-secret' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (server.exitCode === null) server.kill('SIGKILL') })
  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    server.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (match?.[1] !== undefined) resolve(Number(match[1]))
    })
    server.once('exit', () => reject(new Error(`server exited early: ${output}`)))
  })
  const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userId":"sig"}' })
  const { token } = await login.json() as { token: string }
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`, ['fastify-realtime.v1', `bearer.${token}`])
  await once(ws, 'message')
  const closed = once(ws, 'close')
  server.kill('SIGTERM')
  const [code] = await closed as [number]
  t.equal(code, 1001)
  const [exitCode] = await once(server, 'exit') as [number | null]
  t.equal(exitCode, 0)
  t.match(output, /shutting down/)
  t.notOk(output.includes(token), 'the token is in no log line')
})
