// Checks every relative link of the documentation: README.md, CONTRIBUTING.md,
// CHANGELOG.md, docs/*.md and bench/*.md. A link must point to a file that
// exists and, with a #fragment into a markdown file, to a heading (by
// GitHub's slug) or an <a id> of that file. Links in code are not links.
//
//   node scripts/docs-links.mjs        exits 1 and lists the broken links
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The markdown files whose links are checked, relative to the repository. */
export function linkedFiles () {
  const inDir = (dir) => existsSync(path.join(root, dir))
    ? readdirSync(path.join(root, dir)).filter(file => file.endsWith('.md')).sort().map(file => `${dir}/${file}`)
    : []
  return ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', ...inDir('docs'), ...inDir('bench')]
    .filter(file => existsSync(path.join(root, file)))
}

/** The markdown without fenced code blocks and inline code (their brackets are not links). */
function prose (markdown) {
  const lines = markdown.split(/\r?\n/)
  let fence
  return lines.map((line) => {
    const start = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence === undefined && start !== null) { fence = start[1]; return '' }
    if (fence !== undefined) {
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') fence = undefined
      return ''
    }
    return line.replace(/(`+)(?:(?!\1).)+?\1/g, '')
  })
}

/** GitHub's anchor for a heading: the rendered text, lower-cased, punctuation dropped, spaces to hyphens. */
export function slug (heading) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')   // [text](url) -> text
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '')
  return text.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
}

/** The anchors a markdown file defines: its headings' slugs (-1, -2 for repeats) and <a id>/<a name>. */
export function anchorsOf (markdown) {
  const anchors = new Set()
  const seen = new Map()
  let fence
  for (const line of markdown.split(/\r?\n/)) {
    const start = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence === undefined && start !== null) { fence = start[1]; continue }
    if (fence !== undefined) {
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') fence = undefined
      continue
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (heading !== null) {
      const base = slug(heading[1])
      const count = seen.get(base) ?? 0
      seen.set(base, count + 1)
      anchors.add(count === 0 ? base : `${base}-${count}`)
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1])
  }
  return anchors
}

/** The relative links of a markdown text: `{ line, target }`, external and mail links left out. */
export function linksOf (markdown) {
  const links = []
  prose(markdown).forEach((line, index) => {
    for (const match of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1]
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
      links.push({ line: index + 1, target })
    }
  })
  return links
}

/** Every broken relative link of `files`, as `README.md:12: docs/x.md#y: why`. */
export function checkLinks (files = linkedFiles()) {
  const problems = []
  const anchorCache = new Map()
  const anchors = (file) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(readFileSync(file, 'utf8')))
    return anchorCache.get(file)
  }
  for (const file of files) {
    const absolute = path.join(root, file)
    for (const { line, target } of linksOf(readFileSync(absolute, 'utf8'))) {
      const [pathPart, fragment] = target.split('#', 2)
      const resolved = pathPart === '' ? absolute : path.resolve(path.dirname(absolute), decodeURIComponent(pathPart))
      const where = `${file}:${line}: ${target}`
      if (!resolved.startsWith(root) || !existsSync(resolved)) {
        problems.push(`${where}: no such file`)
        continue
      }
      if (fragment === undefined || fragment === '') continue
      if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) {
        problems.push(`${where}: a fragment into a file that is not markdown`)
        continue
      }
      if (!anchors(resolved).has(fragment)) problems.push(`${where}: no heading or anchor #${fragment} in ${path.relative(root, resolved)}`)
    }
  }
  return problems
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const files = linkedFiles()
  const problems = checkLinks(files)
  for (const problem of problems) console.log(problem)
  console.log(`${problems.length} broken relative links in ${files.length} files`)
  process.exitCode = problems.length === 0 ? 0 : 1
}
