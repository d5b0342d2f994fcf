import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { deckSourceHash, PROJECT_ROOT } from '../scripts/deck-build.ts'

/**
 * The README is the front door (at most 200 lines) and `docs/` holds the rest: every relative
 * Markdown link between them reaches a file, and a `#fragment` reaches a heading in it.
 */

/** Longest README that still reads as a front door, in lines. */
const README_MAX_LINES = 200

const DOCS = join(PROJECT_ROOT, 'docs')
const MARKDOWN = ['README.md', ...readdirSync(DOCS).filter(f => f.endsWith('.md')).map(f => `docs/${f}`)]

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const line of markdown.replace(/```[\s\S]*?```/g, '').split('\n')) {
    const m = /^#{1,6}\s+(.*)$/.exec(line)
    if (!m)
      continue
    const base = m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n ? `${base}-${n}` : base)
  }
  return out
}

/** `[text](target)` links outside code, with the target as written. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '')
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map(m => m[1]!)
}

describe('the README and docs/', () => {
  it(`keep the README to at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES)
  })

  it('link only to files and headings that exist', () => {
    const broken: string[] = []
    for (const file of MARKDOWN) {
      const from = join(PROJECT_ROOT, file)
      for (const target of links(readFileSync(from, 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target))
          continue // http:, https:, mailto:
        const [path, fragment] = target.split('#') as [string, string | undefined]
        const to = path ? resolve(dirname(from), path) : from
        let text: string
        try {
          text = readFileSync(to, 'utf8')
        }
        catch {
          broken.push(`${file}: ${target} (no file ${relative(PROJECT_ROOT, to)})`)
          continue
        }
        if (fragment !== undefined && to.endsWith('.md') && !anchors(text).has(fragment))
          broken.push(`${file}: ${target} (no heading #${fragment})`)
      }
    }
    expect(broken).toEqual([])
  })

  it('start each docs file with a title and one line saying what it is for', () => {
    const bad = MARKDOWN.filter(f => f.startsWith('docs/')).filter((f) => {
      const [title, blank, purpose] = readFileSync(join(PROJECT_ROOT, f), 'utf8').split('\n')
      return !/^# \S/.test(title!) || blank !== '' || !/^[A-Z`*]/.test(purpose ?? '')
    })
    expect(bad).toEqual([])
  })

  it('promise no dark mode while the headmatter fixes the colour schema (Slidev then turns `d` off)', () => {
    const headmatter = /^---\n([\s\S]*?)\n---/.exec(readFileSync(join(PROJECT_ROOT, 'slides.md'), 'utf8'))?.[1] ?? ''
    const schema = /^colorSchema:\s*(\w+)/m.exec(headmatter)?.[1] ?? 'auto'
    if (schema === 'auto')
      return // `d` toggles dark mode then: a promise the deck keeps
    for (const f of MARKDOWN) {
      const prose = readFileSync(join(PROJECT_ROOT, f), 'utf8')
      expect(prose, `${f} offers a dark mode the deck does not have`).not.toMatch(/dark mode:?\s*`d`|`d`[^.\n]*\b(toggles|switches|turns on)\b[^.\n]*dark/i)
    }
  })
})

describe('the deck build hash', () => {
  const root = mkdtempSync(join(tmpdir(), 'wire-docs-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('ignores docs/ and stray files at the root, so editing them forces no rebuild, but not a slide', () => {
    writeFileSync(join(root, 'slides.md'), '# A talk\n')
    const before = deckSourceHash(root)
    mkdirSync(join(root, 'docs'))
    writeFileSync(join(root, 'docs', 'routes.md'), '# Routes\n')
    writeFileSync(join(root, 'README.md'), '# Read me\n')
    writeFileSync(join(root, 'scratch.mjs'), 'console.log(1)\n') // a presenter's stray file at the root
    writeFileSync(join(root, '.shot.png'), '')
    expect(deckSourceHash(root)).toBe(before)
    mkdirSync(join(root, 'pages'))
    writeFileSync(join(root, 'pages', '01-welcome.md'), '# Welcome\n')
    expect(deckSourceHash(root)).not.toBe(before)
  })
})
