// docs/protocol.md from the example app's AsyncAPI document (the one
// GET /api/v1/realtime/asyncapi.json serves), built from dist/ and
// examples/dist/ (npm run build). `npm run docs:protocol` writes it;
// `--check` exits 1 when the committed file differs (npm test runs that
// through test/protocol-docs.test.ts); `--file <path>` checks or writes
// another file. Deterministic: regenerate after every merge.
import { readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderProtocolMarkdown } from './protocol-docs/render.mjs'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const args = process.argv.slice(2)
const isCheck = args.includes('--check')
const fileArg = args.indexOf('--file')
const target = fileArg === -1 ? path.join(root, 'docs', 'protocol.md') : path.resolve(args[fileArg + 1])

const { buildApp } = createRequire(import.meta.url)(path.join(root, 'examples', 'dist', 'app.js'))
const app = await buildApp({ jwtSecret: 'protocol-docs' })
await app.ready()
const markdown = renderProtocolMarkdown(app.realtime.asyncapi())
await app.close()

if (isCheck) {
  const committed = await readFile(target, 'utf8').catch(() => '')
  if (committed !== markdown) {
    const line = firstDifference(committed, markdown)
    console.error(`${path.relative(root, target)} is not what the protocol's schemas produce (first difference at line ${line}): run npm run docs:protocol and commit it`)
    process.exit(1)
  }
  console.log(`${path.relative(root, target)} is up to date`)
} else {
  await writeFile(target, markdown)
  console.log(`wrote ${path.relative(root, target)}`)
}

function firstDifference (a, b) {
  const left = a.split('\n')
  const right = b.split('\n')
  let i = 0
  while (i < left.length && i < right.length && left[i] === right[i]) i++
  return i + 1
}
