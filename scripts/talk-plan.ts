// The talk's plan, read from the deck's Markdown with Slidev's own parser (`src:` includes
// resolved): each chapter of the main track with its slides and the minutes its divider's notes
// budget, then the appendix. `npm run plan` prints it as a rehearsal table; test/talk.test.ts
// checks it against the time slot.
import { load } from '@slidev/parser/fs'
import { fileURLToPath } from 'node:url'

export type Slide = Awaited<ReturnType<typeof load>>['slides'][number]

/** A budget line: the first line of a chapter divider's notes ("Time: 5 min."). */
export const TIME = /^Time: (\d+) min\.$/

export interface Chapter {
  title: string
  /** 1-based number of its first slide. */
  first: number
  slides: number
  /** From the notes' `Time: N min.`; null when its first slide budgets nothing. */
  minutes: number | null
}

export interface TalkPlan {
  slides: Slide[]
  /** Slides before "Questions": the timed talk. */
  main: Slide[]
  /** The opening (title, agenda) and each chapter of the main track. */
  chapters: Chapter[]
  /** Slides from the appendix divider (`routeAlias: appendix`) on. */
  appendix: Slide[]
}

/** The first line of a slide's speaker notes, trimmed ('' without notes). */
export function firstNoteLine(s: Slide): string {
  return (s.note ?? '').trim().split('\n')[0]!.trim()
}

/** Reads `slides.md` under `root` (default: the working directory). Throws when it has no "Questions" slide. */
export async function loadTalk(root = process.cwd()): Promise<TalkPlan> {
  const slides = (await load({ userRoot: root, roots: [root] }, `${root}/slides.md`)).slides
  const questions = slides.findIndex(s => s.title === 'Questions')
  if (questions < 0)
    throw new Error('slides.md has no slide titled "Questions": it ends the main track')
  const main = slides.slice(0, questions)
  const chapters: Chapter[] = []
  main.forEach((s, i) => {
    if (i === 0 || s.frontmatter.layout === 'section') {
      const budget = firstNoteLine(s).match(TIME)
      chapters.push({ title: i === 0 ? 'Opening (title, agenda)' : s.title ?? `slide ${i + 1}`, first: i + 1, slides: 0, minutes: budget ? Number(budget[1]) : null })
    }
    chapters.at(-1)!.slides++
  })
  const appendixAt = slides.findIndex(s => s.frontmatter.routeAlias === 'appendix')
  return { slides, main, chapters, appendix: appendixAt < 0 ? [] : slides.slice(appendixAt) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const plan = await loadTalk()
  const minutes = plan.chapters.reduce((sum, c) => sum + (c.minutes ?? 0), 0)
  console.log('| chapter | slides | minutes |\n| --- | ---: | ---: |')
  for (const c of plan.chapters)
    console.log(`| ${c.title} | ${c.slides} | ${c.minutes ?? '?'} |`)
  console.log(`| **main track** | **${plan.main.length}** | **${minutes}** |`)
  console.log(`\nthen Questions, then an appendix of ${plan.appendix.length} slides; ${plan.slides.length} slides in all`)
}
