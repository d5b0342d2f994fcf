import { load } from '@slidev/parser/fs'
import { beforeAll, describe, expect, it } from 'vitest'

/**
 * The talk as a presenter plans it, read from the deck's Markdown (Slidev's own parser, `src:`
 * includes resolved): a main track that fits its time slot, then "Questions", then the appendix.
 */
type Slide = Awaited<ReturnType<typeof load>>['slides'][number]

/** At most this many slides before "Questions" (title and agenda included). */
const MAX_MAIN_SLIDES = 70
/** The main track's minutes, as the chapter dividers' notes budget them; questions come on top. */
const MAX_MAIN_MINUTES = 85
/** A budget line: the first line of a chapter divider's notes. */
const TIME = /^Time: (\d+) min\.$/

let slides: Slide[] = []
let main: Slide[] = []

beforeAll(async () => {
  const root = process.cwd()
  slides = (await load({ userRoot: root, roots: [root] }, `${root}/slides.md`)).slides
  const questions = slides.findIndex(s => s.title === 'Questions')
  expect(questions, 'a slide titled "Questions" ends the main track').toBeGreaterThan(0)
  main = slides.slice(0, questions)
})

function firstNoteLine(s: Slide): string {
  return (s.note ?? '').trim().split('\n')[0]!.trim()
}

describe('the talk\'s plan', () => {
  it(`has a main track of at most ${MAX_MAIN_SLIDES} slides, then Questions, then an appendix the agenda reaches`, () => {
    expect(main.length).toBeLessThanOrEqual(MAX_MAIN_SLIDES)
    const appendix = slides.findIndex(s => s.frontmatter.routeAlias === 'appendix')
    expect(appendix, 'the appendix divider comes after Questions').toBeGreaterThan(main.length)
    // The agenda lists section dividers up to the appendix's own (components/AgendaList.vue).
    expect(slides[appendix]!.frontmatter.layout).toBe('section')
    expect(slides.length - appendix, 'appendix slides').toBeGreaterThan(1)
  })

  it(`budgets every chapter in its divider's notes, and the budgets add up to at most ${MAX_MAIN_MINUTES} minutes`, () => {
    const missing = main
      .filter(s => s.frontmatter.layout === 'section' && !TIME.test(firstNoteLine(s)))
      .map(s => s.title)
    expect(missing, 'chapter dividers whose notes do not start with "Time: N min."').toEqual([])
    const budgets = main.filter(s => TIME.test(firstNoteLine(s)))
    const minutes = budgets.reduce((sum, s) => sum + Number(firstNoteLine(s).match(TIME)![1]), 0)
    expect(minutes).toBeLessThanOrEqual(MAX_MAIN_MINUTES)
    // The opening (title, agenda) carries its own budget, so the sum is the whole track.
    expect(TIME.test(firstNoteLine(slides[0]!)), 'the title slide budgets the opening').toBe(true)
  })

  it('writes its notes for a speaker: no mention of source material or of the test suite', () => {
    const off = /\b(?:seeds?|source notes|study notes|test suite|e2e|vitest|playwright|(?:integration|fault|smoke|unit) tests?|tests? (?:opens?|checks?|stops?|proves?))\b/i
    const bad = slides.filter(s => off.test(s.note ?? '')).map(s => `${s.title}: "${(s.note ?? '').match(off)![0]}"`)
    expect(bad).toEqual([])
  })

  it('links only to slides that exist: every <Link to> names a routeAlias', () => {
    const aliases = new Set(slides.map(s => s.frontmatter.routeAlias).filter(Boolean))
    const targets = slides.flatMap(s => [...s.content.matchAll(/<Link\s+to="([^"]+)"/g)].map(m => ({ from: s.title, to: m[1]! })))
    expect(targets.filter(t => !/^\d+$/.test(t.to) && !aliases.has(t.to))).toEqual([])
  })
})
