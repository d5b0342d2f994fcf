import type { Slide, TalkPlan } from '../scripts/talk-plan.ts'
import { beforeAll, describe, expect, it } from 'vitest'
import { firstNoteLine, loadTalk, planTable, QUESTION_SECONDS, TIME, VOTE_SECONDS, WORDS_PER_MINUTE } from '../scripts/talk-plan.ts'

/**
 * The talk as a presenter plans it, read from the deck's Markdown (`npm run plan` prints it): a
 * main track that fits its time slot, then "Questions", then the appendix.
 */

/** At most this many slides before "Questions" (title and agenda included). */
const MAX_MAIN_SLIDES = 70
/** The main track's minutes, as the chapter dividers' notes budget them and as computed from its contents; questions come on top. */
const MAX_MAIN_MINUTES = 85
/** A deck of two chapters, two demo slides and two questions to the room (test/fixtures/talk-plan). */
const FIXTURE = new URL('./fixtures/talk-plan', import.meta.url).pathname

let plan: TalkPlan
let slides: Slide[] = []
let main: Slide[] = []

beforeAll(async () => {
  plan = await loadTalk()
  ;({ slides, main } = plan)
})

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
    // The opening (title, agenda) carries its own budget, so the sum is the whole track.
    expect(plan.chapters.filter(c => c.minutes === null).map(c => c.title), 'chapters without a budget').toEqual([])
    const minutes = plan.chapters.reduce((sum, c) => sum + c.minutes!, 0)
    expect(minutes).toBeLessThanOrEqual(MAX_MAIN_MINUTES)
  })

  it(`computes a main track of at most ${MAX_MAIN_MINUTES} minutes from its notes, demos, votes and questions (npm run plan)`, () => {
    const table = planTable(plan)
    expect(plan.estimatedMinutes, `the main track's computed minutes, per chapter:\n${table}`).toBeLessThanOrEqual(MAX_MAIN_MINUTES)
    // Every demo slide of the main track is timed by its recording.
    expect(plan.chapters.flatMap(c => c.estimate.demos).length).toBeGreaterThanOrEqual(10)
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

describe('the plan\'s computed minutes', () => {
  it('add up a chapter\'s spoken notes, its demos\' recorded runs, a vote per prediction and each `Ask:` line', async () => {
    const fixture = await loadTalk(FIXTURE)
    expect(fixture.main).toHaveLength(4)
    expect(fixture.chapters.map(c => [c.title, c.slides, c.minutes])).toEqual([['Opening (title, agenda)', 1, 1], ['Polling', 3, 3]])
    const polling = fixture.chapters[1]!.estimate
    // The budget line and the `Source:` line are not read out; both `Ask:` lines are, and are questions.
    expect(polling.words).toBe(20)
    expect(polling.questions).toBe(2)
    // The demo slides, by the tag they use (`mode="fanout"` picks pubsub-fanout's recording; both have a prediction, so both are voted on); a plain component is no demo.
    expect(polling.demos).toEqual([
      { slide: 3, id: 'ping', runMs: 6000, vote: true },
      { slide: 4, id: 'pubsub-fanout', runMs: 3000, vote: true },
    ])
    const seconds = 20 / WORDS_PER_MINUTE * 60 + 6 + 3 + 2 * VOTE_SECONDS + 2 * QUESTION_SECONDS
    expect(polling.minutes).toBe(Math.round(seconds / 60 * 10) / 10)
    expect(fixture.estimatedMinutes).toBe(Math.round((fixture.chapters[0]!.estimate.minutes + polling.minutes) * 10) / 10)
    expect(planTable(fixture)).toContain(`| Polling | 3 | 20 | 2 (9 s) | 2 | 2 | ${polling.minutes.toFixed(1)} | 3 |`)
  })
})
