// Type-checks every TypeScript code block of README.md and docs/*.md exactly
// as printed, in a fresh app that installed the packed package (strict,
// NodeNext, skipLibCheck off), once as an ES module (.mts) and once as
// CommonJS (.cts).
//
//   npm run build && node scripts/code-blocks.mjs [README.md docs/x.md ...]
//
// What the check adds to a block, and nothing else:
// - each block is its own module file (so `declare module` augments and two
//   blocks' `const app` do not collide);
// - the host app's own things the docs use without defining them (`db`,
//   `app`, `secret`, ...) are declared in scripts/code-block-globals.d.ts:
//   add a placeholder there rather than changing a block;
// - in the CommonJS copy, a block with top-level await has its statements
//   after the imports wrapped in `async function main ()` (CommonJS has no
//   top-level await), on the same lines so errors point at the block.
// All blocks are one program, as they would be one app: what a block declares
// by merging (RealtimeTypes, RealtimeEvents) applies to every block, so keep
// the docs' declarations compatible with each other.
// A block that is a fragment (a signature, half an object) is skipped with a
// comment on the line before its fence: <!-- no-check: why -->. Use it sparingly.
import { readFileSync, readdirSync, existsSync, mkdirSync, writeFileSync, copyFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { root, createConsumerApp, typeCheck } from './consumer-app.mjs'

const require = createRequire(path.join(root, 'package.json'))
const ts = require('typescript')

const TS_FENCE = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/
const NO_CHECK = /^\s*<!--\s*no-check:\s*(.+?)\s*-->\s*$/
export const GLOBALS_FILE = path.join(root, 'scripts', 'code-block-globals.d.ts')

/** The markdown files whose code blocks are checked: README.md and docs/*.md. */
export function documentationFiles () {
  const docs = path.join(root, 'docs')
  const inDocs = existsSync(docs) ? readdirSync(docs).filter(file => file.endsWith('.md')).sort().map(file => path.join('docs', file)) : []
  return ['README.md', ...inDocs]
}

/**
 * The ```ts / ```typescript blocks of a markdown text, with the 1-based line
 * of their first code line and the reason when marked <!-- no-check: ... -->.
 */
export function extractCodeBlocks (markdown, file) {
  const lines = markdown.split(/\r?\n/)
  const blocks = []
  let open
  let fence = ''
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]
    if (open === undefined) {
      const start = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(line)
      if (start === null) continue
      fence = start[2]
      const isTs = TS_FENCE.test(line)
      let previous = index - 1
      while (previous >= 0 && lines[previous].trim() === '') previous--
      const skip = previous >= 0 ? NO_CHECK.exec(lines[previous])?.[1] : undefined
      open = { file, line: index + 2, isTs, skip, code: [] }
      continue
    }
    if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') {
      if (open.isTs) blocks.push({ file: open.file, line: open.line, code: open.code.join('\n'), skip: open.skip })
      open = undefined
      continue
    }
    open.code.push(line)
  }
  return blocks
}

/** True when a statement awaits outside any function (top-level await). */
function hasTopLevelAwait (node) {
  let found = false
  const visit = (child) => {
    if (found || ts.isFunctionLike(child) || ts.isClassLike(child)) return
    if (ts.isAwaitExpression(child) || (ts.isForOfStatement(child) && child.awaitModifier !== undefined)) {
      found = true
      return
    }
    ts.forEachChild(child, visit)
  }
  visit(node)
  return found
}

function staysAtTopLevel (statement) {
  return ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement) ||
    ts.isModuleDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)
}

/**
 * The CommonJS copy of a block: unchanged, unless it awaits at the top level;
 * then everything from its first statement that is not an import or a type
 * declaration runs inside `async function main ()`, on the same lines.
 */
export function toCommonJs (code) {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.ES2022, true)
  if (!source.statements.some(hasTopLevelAwait)) return code
  const body = source.statements.findIndex(statement => !staysAtTopLevel(statement))
  const start = source.statements[body].getStart(source)
  return `${code.slice(0, start)}async function main (): Promise<void> { ${code.slice(start)}\n}\nvoid main()\n`
}

function blockFileName (block) {
  return `${block.file.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}-line-${block.line}`
}

/**
 * Writes the blocks into `appDir/code-blocks/` (each as .mts and .cts) with
 * the globals file; returns the files, relative to the app, and where each came from.
 */
let checks = 0

export function writeCodeBlocks (appDir, blocks) {
  // a folder of its own per check, so that checks can run side by side in one app
  const folderName = `code-blocks-${process.pid}-${++checks}`
  const folder = path.join(appDir, folderName)
  mkdirSync(folder, { recursive: true })
  copyFileSync(GLOBALS_FILE, path.join(folder, 'globals.d.ts'))
  const files = [`${folderName}/globals.d.ts`]
  const origins = new Map()
  for (const block of blocks) {
    if (block.skip !== undefined) continue
    const name = blockFileName(block)
    // `export {}` makes a block without imports a module too: its `declare module` augments
    writeFileSync(path.join(folder, `${name}.mts`), `${block.code}\nexport {}\n`)
    writeFileSync(path.join(folder, `${name}.cts`), `${toCommonJs(block.code)}\nexport {}\n`)
    for (const extension of ['mts', 'cts']) {
      files.push(`${folderName}/${name}.${extension}`)
      origins.set(`${folderName}/${name}.${extension}`, { block, kind: extension === 'mts' ? 'ESM' : 'CommonJS' })
    }
  }
  return { folder: folderName, files, origins }
}

/**
 * Rewrites tsc's `code-blocks-1/x.mts(3,5): error ...` as
 * `README.md:41 (ESM, column 5): error ...`, one entry per diagnostic (its
 * indented continuation lines joined to it).
 */
function toDocumentPositions (output, origins) {
  const diagnostics = []
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue
    if (/^\s/.test(line) && diagnostics.length > 0) diagnostics[diagnostics.length - 1] += ` ${line.trim()}`
    else diagnostics.push(line)
  }
  return diagnostics.map((diagnostic) => {
    const match = /^([^(]+)\((\d+),(\d+)\): (.*)$/.exec(diagnostic)
    const origin = match === null ? undefined : origins.get(match[1])
    if (origin === undefined) return diagnostic
    return `${origin.block.file}:${origin.block.line + Number(match[2]) - 1} (${origin.kind}, column ${match[3]}): ${match[4]}`
  })
}

/**
 * Extracts the TypeScript blocks of `files` (relative to the repository) and
 * type-checks them in `appDir`, an app that installed the packed package (see
 * createConsumerApp). Resolves `{ blocks, skipped, errors }`: errors are tsc's
 * diagnostics, pointing at the markdown file and line.
 */
export async function checkCodeBlocks (appDir, files = documentationFiles()) {
  const blocks = files.flatMap(file => extractCodeBlocks(readFileSync(path.resolve(root, file), 'utf8'), path.isAbsolute(file) ? path.relative(root, file) : file))
  const { folder, files: sources, origins } = writeCodeBlocks(appDir, blocks)
  const output = await typeCheck(appDir, sources, { tsconfig: `tsconfig.${folder}.json` })
  return {
    blocks: blocks.filter(block => block.skip === undefined),
    skipped: blocks.filter(block => block.skip !== undefined),
    errors: toDocumentPositions(output, origins)
  }
}

async function main () {
  const files = process.argv.length > 2 ? process.argv.slice(2) : documentationFiles()
  const app = createConsumerApp()
  try {
    const result = await checkCodeBlocks(app.appDir, files)
    for (const block of result.skipped) console.log(`skipped ${block.file}:${block.line}: ${block.skip}`)
    console.log(`${result.blocks.length} TypeScript blocks in ${files.join(', ')}, type-checked as ESM and CommonJS`)
    for (const error of result.errors) console.log(error)
    process.exitCode = result.errors.length === 0 ? 0 : 1
  } finally {
    app.cleanup()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main()
}
