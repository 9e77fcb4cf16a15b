import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

// Packs the package as npm would publish it, installs the tarball into a
// fresh app and loads it the ways users do: require, import, and TypeScript
// (CommonJS and ESM) with the types resolved from the package's exports.
const root = path.resolve(__dirname, '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

t.test('the packed package loads with require and import, with types', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fastify-realtime-pack-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  execFileSync(npm, ['pack', '--silent', '--pack-destination', dir], { cwd: root, stdio: 'pipe' })
  const tarball = readdirSync(dir).find(file => file.endsWith('.tgz'))
  t.ok(tarball, 'npm pack made a tarball')
  const app = path.join(dir, 'app')
  execFileSync('mkdir', ['-p', app])
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  const fastifyVersion = (require('fastify/package.json') as { version: string }).version
  execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', path.join(dir, tarball ?? ''), `fastify@${fastifyVersion}`], { cwd: app, stdio: 'pipe' })

  writeFileSync(path.join(app, 'cjs.js'), `
    const Fastify = require('fastify')
    const realtime = require('fastify-realtime')
    if (typeof realtime !== 'function') throw new Error('require() did not return the plugin')
    if (realtime.default !== realtime || realtime.fastifyRealtime !== realtime) throw new Error('default/named exports missing')
    if (realtime.WireError.invalidJson !== 'INVALID_JSON') throw new Error('named exports missing')
    const app = Fastify()
    app.register(realtime, { jwt: 'secret' })
    app.ready().then(() => { console.log(typeof app.realtime.sendToUser); return app.close() })
  `)
  t.equal(execFileSync('node', ['cjs.js'], { cwd: app }).toString().trim(), 'function', 'require()')

  writeFileSync(path.join(app, 'esm.mjs'), `
    import Fastify from 'fastify'
    import realtime, { fastifyRealtime, WireError, CloseCode } from 'fastify-realtime'
    if (realtime !== fastifyRealtime || WireError.rateLimited !== 'RATE_LIMIT_EXCEEDED' || CloseCode.goingAway !== 1001) throw new Error('bad exports')
    const app = Fastify()
    await app.register(realtime, { jwt: 'secret' })
    await app.ready()
    console.log(typeof app.realtime.broadcastToAll)
    await app.close()
  `)
  t.equal(execFileSync('node', ['esm.mjs'], { cwd: app }).toString().trim(), 'function', 'import')

  const consumer = `
    import Fastify from 'fastify'
    import realtime, { type RealtimeOptions, type ServerMessage, WireError } from 'fastify-realtime'
    const options: RealtimeOptions = { jwt: 'secret', maxConnectionsPerUser: 2, rateLimit: { max: 10 } }
    const app = Fastify()
    app.register(realtime, options)
    app.get('/', async () => {
      const delivered: number = await app.realtime.sendToUser('42', { type: 'system.notification', data: { message: 'hi', level: 'info', timestamp: '' } })
      return { delivered, code: WireError.invalidJson }
    })
    export const example: ServerMessage<'upload.progress'>['data']['progress'] = 5
  `
  writeFileSync(path.join(app, 'consumer.mts'), consumer)
  writeFileSync(path.join(app, 'consumer.cts'), consumer.replace('export const', 'const'))
  writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: ['consumer.mts', 'consumer.cts']
  }))
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const output = (() => {
    try {
      return execFileSync('node', [tsc, '-p', 'tsconfig.json'], { cwd: app, stdio: 'pipe' }).toString()
    } catch (err) {
      return (err as { stdout: Buffer }).stdout.toString()
    }
  })()
  t.equal(output, '', 'TypeScript (ESM and CommonJS consumers) type-checks against the packed types')
})
