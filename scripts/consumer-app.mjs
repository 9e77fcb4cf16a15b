// A fresh host app with the package installed from its packed tarball, as a
// user gets it: `npm pack`, then `npm install <tarball> fastify @types/node`
// in an empty folder (fastify's own types need @types/node; TypeScript is
// run from this repository's node_modules). Used by test/package.test.ts and
// by scripts/code-blocks.mjs. Build first (`npm run build`): it packs dist/.
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const require = createRequire(path.join(root, 'package.json'))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** The version of a package installed in this repository, so the app tests what the repo tests. */
function installedVersion (name) {
  return require(`${name}/package.json`).version
}

/** The TypeScript compiler of this repository (~5.9), run inside the app. */
export const tscPath = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')

/**
 * Packs the package and installs it into a new temporary app.
 * Returns the app's folder and a cleanup function.
 */
export function createConsumerApp ({ packages = [] } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'fastify-realtime-pack-'))
  const cleanup = () => rmSync(dir, { recursive: true, force: true })
  try {
    execFileSync(npm, ['pack', '--silent', '--pack-destination', dir], { cwd: root, stdio: 'pipe' })
    const tarball = readdirSync(dir).find(file => file.endsWith('.tgz'))
    if (tarball === undefined) throw new Error('npm pack made no tarball')
    const appDir = path.join(dir, 'app')
    mkdirSync(appDir)
    writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
    const install = [
      path.join(dir, tarball),
      `fastify@${installedVersion('fastify')}`,
      `@types/node@${installedVersion('@types/node')}`,
      ...packages
    ]
    execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', ...install], { cwd: appDir, stdio: 'pipe' })
    return { dir, appDir, tarball: path.join(dir, tarball), cleanup }
  } catch (err) {
    cleanup()
    throw err
  }
}

/**
 * The compiler options of a new user's app: strict, NodeNext, and the
 * package's .d.ts files checked too (skipLibCheck off).
 */
export const consumerCompilerOptions = Object.freeze({
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  skipLibCheck: false,
  noEmit: true,
  types: ['node']
})

/**
 * Runs tsc in the app on `files` (paths relative to the app) and resolves its
 * diagnostics, one per line ('' when everything type-checks). Asynchronous,
 * so that several checks can run side by side.
 */
export function typeCheck (appDir, files, { tsconfig = 'tsconfig.json', compilerOptions = {} } = {}) {
  writeFileSync(path.join(appDir, tsconfig), JSON.stringify({ compilerOptions: { ...consumerCompilerOptions, ...compilerOptions }, files }, null, 2))
  return new Promise((resolve) => {
    execFile('node', [tscPath, '-p', tsconfig, '--pretty', 'false'], { cwd: appDir, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim()
      resolve(err !== null && output === '' ? String(err) : output)
    })
  })
}
