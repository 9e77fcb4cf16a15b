#!/usr/bin/env node
// Renders bench/RESULTS.md again from the raw data in bench/results/: the
// newest raw file of each bench, or the files named on the command line
// (each replaces the newest of its bench). Every figure in RESULTS.md comes
// from a committed raw file through the bench's render function; so does
// README.md's benchmarks block (bench/lib/headline.mjs), between its markers.
//
//   node bench/render.mjs [bench/results/<bench>-<mode>-<date>.jsonl ...]   writes bench/RESULTS.md
//   node bench/render.mjs --check [files ...]                                exits 1 when the committed file (or README's block) differs
//   node bench/render.mjs --stdout [files ...]                               prints it instead
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import { README_FILE, RESULTS_FILE, renderReadme, renderResults } from './lib/render-all.mjs'

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
// README's benchmarks block comes from the same raw files
const outputs = [{ file: RESULTS_FILE, text: markdown }, { file: README_FILE, text: renderReadme(files) }]
if (flags.has('--stdout')) {
  process.stdout.write(markdown)
} else if (flags.has('--check')) {
  for (const { file, text } of outputs) {
    const target = relative(process.cwd(), file)
    const current = existsSync(file) ? readFileSync(file, 'utf8') : ''
    if (current === text) {
      console.log(`${target} matches the raw data (${used.length} raw files)`)
      continue
    }
    const a = current.split('\n')
    const b = text.split('\n')
    let i = 0
    while (i < a.length && i < b.length && a[i] === b[i]) i++
    console.error(`${target} differs from what \`node bench/render.mjs\` renders from the raw data, first at line ${i + 1}:`)
    console.error(`  committed: ${a[i] === undefined ? '(end of file)' : a[i].slice(0, 300)}`)
    console.error(`  rendered:  ${b[i] === undefined ? '(end of file)' : b[i].slice(0, 300)}`)
    console.error(`Run \`node bench/render.mjs\` and commit ${target} with its raw files.`)
    process.exitCode = 1
  }
} else {
  for (const { file, text } of outputs) writeFileSync(file, text)
  console.log(`wrote ${relative(process.cwd(), RESULTS_FILE)} and README.md's benchmarks block from ${used.length} raw files:\n${used.map((f) => `  ${relative(process.cwd(), f)}`).join('\n')}`)
}
