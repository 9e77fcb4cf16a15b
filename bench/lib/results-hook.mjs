// What every bench calls after writing its raw file: bench/RESULTS.md (and
// README.md's benchmarks block) is rendered again, whole, from the newest raw file of each bench
// (bench/lib/render-all.mjs), so no bench edits its section by hand. Loaded
// late, so that a bench that ran for minutes picks up the renderers as they
// are now; a renderer that fails leaves the raw file, which
// `node bench/render.mjs` renders later.
export async function writeResults () {
  try {
    const { renderResults, renderReadme, RESULTS_FILE, README_FILE } = await import('./render-all.mjs')
    const { writeFileSync } = await import('node:fs')
    const { markdown, used } = renderResults()
    writeFileSync(RESULTS_FILE, markdown)
    // README's benchmarks block, from the same raw files
    writeFileSync(README_FILE, renderReadme())
    console.log(`wrote bench/RESULTS.md from ${used.length} raw file(s)`)
  } catch (err) {
    console.error(`bench: RESULTS.md not rendered (${err?.stack ?? err}); the raw file is kept: run \`node bench/render.mjs\``)
    process.exitCode = 1
  }
}
