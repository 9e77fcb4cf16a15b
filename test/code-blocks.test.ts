import t from 'tap'
import { readFileSync } from 'node:fs'
import path from 'node:path'

// The pure half of scripts/code-blocks.mjs (the compile half runs in test/package.test.ts)
const fixture = path.join(__dirname, 'fixtures', 'consumer', 'blocks.md')

t.test('extracts ts and typescript blocks with the line of their first code line and the no-check reason', async (t) => {
  const { extractCodeBlocks } = await import('../scripts/code-blocks.mjs')
  const blocks = extractCodeBlocks(readFileSync(fixture, 'utf8'), 'blocks.md')
  t.same(blocks.map(block => [block.line, block.skip]), [[6, undefined], [16, undefined], [23, 'a fragment, on purpose']])
  t.match(blocks[1]?.code, /^import Fastify from 'fastify'\n/)
  t.notMatch(blocks.map(block => block.code).join('\n'), /this is not checked/, 'js blocks are left out')
})

t.test('the CommonJS copy wraps statements after the imports in main() only when the block awaits at the top level', async (t) => {
  const { toCommonJs } = await import('../scripts/code-blocks.mjs')
  const awaiting = "import a from 'a'\ninterface X { n: number }\nconst x = 1\nawait a(x)"
  const wrapped = toCommonJs(awaiting)
  t.equal(wrapped.split('\n')[2], 'async function main (): Promise<void> { const x = 1', 'on the same line: errors keep their line numbers')
  t.match(wrapped, /^import a from 'a'\ninterface X/)
  t.match(wrapped, /\n}\nvoid main\(\)\n$/)
  const inFunction = "import a from 'a'\nasync function f () { await a() }"
  t.equal(toCommonJs(inFunction), inFunction, 'an await inside a function is not top-level')
})
