#!/usr/bin/env node
// Renders bench/RESULTS.md again from the raw data in bench/results/: the
// newest raw file of each bench, or the files named on the command line
// (each replaces the newest of its bench). Every figure in RESULTS.md comes
// from a committed raw file through the bench's render function.
//
//   node bench/render.mjs [bench/results/<bench>-<mode>-<date>.jsonl ...]   writes bench/RESULTS.md
//   node bench/render.mjs --check [files ...]                                exits 1 when the committed file differs
//   node bench/render.mjs --stdout [files ...]                               prints it instead
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import { RESULTS_FILE, renderResults } from './lib/render-all.mjs'

const argv = process.argv.slice(2)
const flags = new Set(argv.filter((a) => a.startsWith('--')))
const files = argv.filter((a) => !a.startsWith('--'))
for (const f of flags) {
  if (f !== '--check' && f !== '--stdout') {
    console.error(`bench/render: unknown option ${f}`)
    process.exit(2)
  }
}
const { markdown, used } = renderResults(files)
const target = relative(process.cwd(), RESULTS_FILE)
if (flags.has('--stdout')) {
  process.stdout.write(markdown)
} else if (flags.has('--check')) {
  const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : ''
  if (current === markdown) {
    console.log(`${target} matches the raw data (${used.length} raw files)`)
  } else {
    const a = current.split('\n')
    const b = markdown.split('\n')
    let i = 0
    while (i < a.length && i < b.length && a[i] === b[i]) i++
    console.error(`${target} differs from what \`node bench/render.mjs\` renders from the raw data, first at line ${i + 1}:`)
    console.error(`  committed: ${a[i] === undefined ? '(end of file)' : a[i].slice(0, 300)}`)
    console.error(`  rendered:  ${b[i] === undefined ? '(end of file)' : b[i].slice(0, 300)}`)
    console.error('Run `node bench/render.mjs` and commit bench/RESULTS.md with its raw files.')
    process.exitCode = 1
  }
} else {
  writeFileSync(RESULTS_FILE, markdown)
  console.log(`wrote ${target} from ${used.length} raw files:\n${used.map((f) => `  ${relative(process.cwd(), f)}`).join('\n')}`)
}
