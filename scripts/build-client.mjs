// Bundles the client for browsers: dist/browser/realtime-client.js, one ES
// module with no imports (the page loads it as /assets/realtime-client.js).
import { build } from 'esbuild'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const outfile = path.join(root, 'dist', 'browser', 'realtime-client.js')

const result = await build({
  entryPoints: [path.join(root, 'lib', 'client', 'index.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  sourcemap: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning'
})

// the client must stay free of server code and of TypeBox at runtime
const inputs = Object.keys(result.metafile.inputs)
const leaked = inputs.filter(input => input.includes('node_modules') || !/lib[\\/](client|protocol[\\/](codes|constants))/.test(input))
if (leaked.length > 0) {
  console.error(`build-client: the browser bundle pulled in ${leaked.join(', ')}`)
  process.exit(1)
}
const size = (await readFile(outfile)).length
console.log(`build-client: ${path.relative(root, outfile)} (${(size / 1024).toFixed(1)} KiB, ${inputs.length} modules)`)
