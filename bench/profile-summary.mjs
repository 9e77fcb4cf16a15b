#!/usr/bin/env node
// Summarizes a .cpuprofile (from `node bench/run.mjs --cpu-prof`): self time
// by function and by package/file, so a profile can be read without a GUI.
//   node bench/profile-summary.mjs bench/out/profiles/fastify-realtime-echo-100-r1.cpuprofile [top=25]
import { readFileSync } from 'node:fs'

const [file, topArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [top]')
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const selfUs = new Map()
const dt = profile.timeDeltas
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]
  selfUs.set(id, (selfUs.get(id) ?? 0) + (dt[i] ?? 0))
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)

function where (url) {
  if (!url) return '(native/V8)'
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (m) return m[1]
  if (url.startsWith('node:')) return url
  const d = url.match(/\/(dist|bench)\/(.*)$/)
  return d ? `${d[1]}/${d[2]}` : url
}

const fn = new Map()
const pkg = new Map()
for (const [id, us] of selfUs) {
  const n = byId.get(id)
  const cf = n.callFrame
  const w = where(cf.url)
  const name = `${cf.functionName || '(anonymous)'} ${w}:${cf.lineNumber + 1}`
  fn.set(name, (fn.get(name) ?? 0) + us)
  pkg.set(w, (pkg.get(w) ?? 0) + us)
}
const pct = (us) => `${(100 * us / total).toFixed(1).padStart(5)} %`
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`)
console.log('\nself time by package / file')
for (const [k, v] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${k}`)
console.log('\nself time by function')
for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${k}`)
