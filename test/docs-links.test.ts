import t from 'tap'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import path from 'node:path'

// Every relative link of README.md, CONTRIBUTING.md, CHANGELOG.md, docs/ and
// bench/ points to a file that exists and, with a #fragment, to a heading or
// an <a id> of it (scripts/docs-links.mjs). The README is a front page that
// links into docs/ for everything: a moved section must not leave dead links.

t.test('every relative link of the documentation resolves', async (t) => {
  const { checkLinks, linkedFiles } = await import('../scripts/docs-links.mjs')
  const files = linkedFiles()
  t.ok(files.includes('README.md') && files.includes('docs/security.md'), 'README and docs/ are checked')
  t.same(checkLinks(files), [], 'no broken link')
})

t.test('anchors follow GitHub: rendered text, lower-cased, punctuation dropped, repeats numbered', async (t) => {
  const { slug, anchorsOf } = await import('../scripts/docs-links.mjs')
  t.equal(slug('Server API: `app.realtime`'), 'server-api-apprealtime')
  t.equal(slug('Behind a reverse proxy: `trustProxy` and `request.ip`'), 'behind-a-reverse-proxy-trustproxy-and-requestip')
  t.equal(slug('Channels: `presence: true` or `\'count\'`'), 'channels-presence-true-or-count')
  t.equal(slug('stats()'), 'stats')
  const anchors = anchorsOf('# A\n## Options\n```\n## not a heading\n```\n### Options\n<a id="jwks"></a>\n')
  t.same([...anchors].sort(), ['a', 'jwks', 'options', 'options-1'])
})

t.test('a missing file, a missing anchor and a link inside code', async (t) => {
  const { checkLinks, linksOf } = await import('../scripts/docs-links.mjs')
  t.same(linksOf('see `[x](nowhere.md)` and\n```\n[y](nowhere.md)\n```\n[z](https://example.org) [w](#here)'), [{ line: 5, target: '#here' }],
    'code and external links are left out')
  // a scratch file inside the repository, so that its relative links resolve from there
  const dir = mkdtempSync(path.join(__dirname, '..', 'docs-links-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'page.md')
  writeFileSync(file, '# Page\n[a](../README.md#quick-start) [b](../README.md#no-such-heading) [c](missing.md) [d](#page)\n')
  const problems = checkLinks([path.relative(path.join(__dirname, '..'), file)])
  t.equal(problems.length, 2, problems.join('\n'))
  t.match(problems[0], /no heading or anchor #no-such-heading/)
  t.match(problems[1], /missing\.md: no such file/)
})
