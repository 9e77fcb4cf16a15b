import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import ts from 'typescript'
import path from 'node:path'

// Packs the package as npm would publish it, installs the tarball into a
// fresh app (with fastify and @types/node, nothing else) and uses every entry
// point the ways users do: require and import at run time (the plugin, the
// test kit, the client, the browser bundle), and TypeScript, CommonJS and
// ESM, with the package's own .d.ts files checked too (skipLibCheck off):
// host code, the host's declared types, and every code block of the docs.
const fixtures = path.join(__dirname, 'fixtures', 'consumer')

t.test('the packed package, installed in a fresh app', async (t) => {
  const { createConsumerApp, typeCheck } = await import('../scripts/consumer-app.mjs')
  const { checkCodeBlocks, documentationFiles, extractCodeBlocks } = await import('../scripts/code-blocks.mjs')
  const consumer = createConsumerApp()
  t.teardown(consumer.cleanup)
  const app = consumer.appDir
  const run = async (file: string): Promise<string> => (await promisify(execFile)('node', [file], { cwd: app })).stdout.trim()

  // the two TypeScript programs (a minute each on a busy machine) run while the run-time checks do
  const hostFiles: string[] = []
  for (const name of ['consumer', 'host-types', 'testing']) {
    for (const extension of ['mts', 'cts']) {
      copyFileSync(path.join(fixtures, `${name}.mts`), path.join(app, `${name}.${extension}`))
      hostFiles.push(`${name}.${extension}`)
    }
  }
  const hostTypes = typeCheck(app, hostFiles)
  // the docs, and a fixture that proves the check reports what is broken: one program
  const brokenFixture = 'test/fixtures/consumer/blocks.md'
  const codeBlocks = checkCodeBlocks(app, [...documentationFiles(), brokenFixture])

  t.test('require() and import of the main entry', async (t) => {
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
    t.equal(await run('cjs.js'), 'function', 'require()')
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
    t.equal(await run('esm.mjs'), 'function', 'import')
  })

  t.test('the test kit, the client and the browser bundle at run time, over real sockets', async (t) => {
    copyFileSync(path.join(fixtures, 'smoke.cjs'), path.join(app, 'smoke.cjs'))
    copyFileSync(path.join(fixtures, 'smoke.mjs'), path.join(app, 'smoke.mjs'))
    t.same(JSON.parse(await run('smoke.cjs')), { kit: 'kit', client: 'carol', across: 'across' }, 'CommonJS: kit, client, cluster(2)')
    t.same(JSON.parse(await run('smoke.mjs')), { kit: 'kit', client: 'carol', bundle: 'dave', across: 'across' }, 'ESM: kit, client, browser bundle, cluster(2)')
  })

  t.test('the examples of docs/testing.md run, against the tarball', async (t) => {
    const blocks = extractCodeBlocks(readFileSync(path.join(__dirname, '..', 'docs', 'testing.md'), 'utf8'), 'docs/testing.md')
    const files = blocks.map((block, index) => {
      const file = `testing-doc-${index}.mjs`
      const js = ts.transpileModule(block.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
      writeFileSync(path.join(app, file), js)
      return file
    })
    t.ok(files.length >= 2, 'the complete example and the marker example')
    // node --test runs each file; one that fails or throws fails the run
    const { stdout } = await promisify(execFile)('node', ['--test', ...files], { cwd: app })
    t.match(stdout, /# fail 0/)
  })

  t.test('TypeScript hosts (ESM and CommonJS) type-check against the packed types, skipLibCheck off', async (t) => {
    t.equal(await hostTypes, '', 'no diagnostics (also none in the package\'s .d.ts: no @types/ws needed)')
  })

  t.test('every TypeScript code block of README.md and docs/*.md compiles as printed', async (t) => {
    const result = await codeBlocks
    const docs = result.blocks.filter(block => block.file !== brokenFixture)
    t.ok(docs.length > 0, `${docs.length} blocks checked, ${result.skipped.filter(block => block.file !== brokenFixture).length} skipped`)
    t.same(result.errors.filter(error => !error.startsWith(brokenFixture)), [], 'no diagnostics, ESM and CommonJS')
  })

  t.test('the code-block check reports a broken block at its markdown line, ESM and CommonJS', async (t) => {
    const result = await codeBlocks
    t.equal(result.blocks.filter(block => block.file === brokenFixture).length, 2)
    t.equal(result.skipped.filter(block => block.file === brokenFixture).length, 1, 'the no-check fragment')
    const errors = result.errors.filter(error => error.startsWith(brokenFixture))
    t.equal(errors.length, 2, errors.join('\n'))
    for (const kind of ['ESM', 'CommonJS']) {
      t.ok(errors.some(error => error.startsWith(`${brokenFixture}:18 (${kind}, column 7): error TS2322`)), kind)
    }
  })
})
