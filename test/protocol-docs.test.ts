import t from 'tap'
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

// docs/protocol.md is generated (npm run docs:protocol) from the AsyncAPI
// document of the example app, built from dist/ (npm test builds first):
// this fails when the committed page is not what the schemas produce.
const root = path.dirname(__dirname)
const script = path.join(root, 'scripts', 'generate-protocol-docs.mjs')

function run (...args: string[]): Promise<{ code: number, output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, output: stdout + stderr })
    })
  })
}

t.test('the committed docs/protocol.md is what the script generates', async (t) => {
  const { code, output } = await run('--check')
  t.equal(code, 0, output)
})

t.test('the check fails on a page that differs, and names the first differing line', async (t) => {
  const dir = t.testdir()
  const stale = path.join(dir, 'protocol.md')
  const lines = (await readFile(path.join(root, 'docs', 'protocol.md'), 'utf8')).split('\n')
  lines.splice(5, 1, 'a line edited by hand')
  await writeFile(stale, lines.join('\n'))
  const { code, output } = await run('--check', '--file', stale)
  t.equal(code, 1)
  t.match(output, /first difference at line 6.*npm run docs:protocol/)
})

t.test('the script writes the page it checks, the same bytes every run', async (t) => {
  const dir = t.testdir()
  const first = path.join(dir, 'first.md')
  const second = path.join(dir, 'second.md')
  t.equal((await run('--file', first)).code, 0)
  t.equal((await run('--file', second)).code, 0)
  const written = await readFile(first, 'utf8')
  t.equal(written, await readFile(second, 'utf8'), 'deterministic')
  t.equal(written, await readFile(path.join(root, 'docs', 'protocol.md'), 'utf8'))
  t.equal((await run('--check', '--file', first)).code, 0)
})
