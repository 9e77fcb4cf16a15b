// Coverage counts the package's sources (lib/), not the benchmark, the example
// app or the built dist/ that some tests load through the packed package.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

function sources (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return /\.m?ts$/.test(entry.name) ? [path] : []
  })
}

const lib = sources('lib')
export default () => lib
