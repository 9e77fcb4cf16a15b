import t from 'tap'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'

// bench/RESULTS.md is rendered from the raw files in bench/results/ by
// `node bench/render.mjs`: this fails when the committed file and the raw
// data disagree (a hand-edited figure, a raw file committed without
// rendering, a renderer changed without rendering again).

const root = resolve(__dirname, '..')

function render (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['bench/render.mjs', ...args], { cwd: root, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      done({ code, stdout, stderr })
    })
  })
}

t.test('bench/RESULTS.md is what bench/render.mjs renders from bench/results/', async (t) => {
  const { code, stdout, stderr } = await render(['--check'])
  t.equal(code, 0, 'render.mjs --check exits 0', { stdout, stderr })
})

t.test('every section names its raw file, and every raw file it names is committed', async (t) => {
  const md = readFileSync(resolve(root, 'bench', 'RESULTS.md'), 'utf8')
  const sections = md.split(/\n(?=## )/).slice(1)
  t.ok(sections.length > 0, 'RESULTS.md has sections')
  const raw = new Set(readdirSync(resolve(root, 'bench', 'results')))
  for (const section of sections) {
    const heading = section.split('\n')[0]
    // one raw file, or several (a pooled section): `Raw data: \`a\`, \`b\`.`
    const named = /^Raw data: (.+)\.$/m.exec(section)
    if (named === null) {
      t.match(section, /No raw data in `bench\/results\/` yet\./, `${heading}: no raw file, so no figures`)
      t.notMatch(section, /\|/, `${heading}: no table without raw data`)
    } else {
      const files = [...(named[1] ?? '').matchAll(/`bench\/results\/([^`]+)`/g)].map((m) => m[1] ?? '')
      t.ok(files.length > 0, `${heading}: names its raw files`)
      for (const file of files) t.ok(raw.has(file), `${heading}: ${file} is in bench/results/`)
    }
  }
})

t.test('a file named on the command line must be a raw file of a known bench', async (t) => {
  const { code, stderr } = await render(['--stdout', 'bench/results/unknown-quick-2026-01-01T00-00-00-000Z.jsonl'])
  t.not(code, 0, 'exits non-zero')
  t.match(stderr, /not a raw file of a known bench/)
})
