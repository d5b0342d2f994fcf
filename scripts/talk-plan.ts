// The talk's plan, read from the deck's Markdown with Slidev's own parser (`src:` includes
// resolved): each chapter of the main track with its slides, the minutes its divider's notes
// budget, and the minutes computed from what the chapter holds (its notes read aloud, its demos'
// recorded runs, the room's votes and questions), then the appendix. `npm run plan` prints it as a
// rehearsal table; test/talk.test.ts checks the computed minutes against the time slot.
import { load } from '@slidev/parser/fs'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { predictionFor } from '../wire/predictions.ts'

export type Slide = Awaited<ReturnType<typeof load>>['slides'][number]

/** A budget line: the first line of a chapter divider's notes ("Time: 5 min."). */
export const TIME = /^Time: (\d+) min\.$/

/** Speaking rate the notes are timed at, words per minute (a measured, unhurried talk). */
export const WORDS_PER_MINUTE = 130
/** What the room needs to vote on a demo's prediction (read the options, pick, see the tally), s. */
export const VOTE_SECONDS = 40
/** A question to the room: asked, a few answers heard, s. */
export const QUESTION_SECONDS = 30
/**
 * A question to the room in the notes: a line that starts with `Ask:` (docs/presenting.md).
 * A demo's prediction is not one: its vote is timed with the demo.
 */
export const QUESTION = /^Ask:/
/** Notes lines a speaker does not read out: the budget, and the sources behind the claims. */
const UNSPOKEN = /^(?:Time: \d+ min\.|Sources?:)/

/** What a chapter holds, in the units its minutes are computed from. */
export interface Estimate {
  /** Words of speaker notes (the budget and `Source:` lines left out). */
  words: number
  /** The demo slides: the recorded run's length (recordings/<id>.json `durationMs`), and whether the room votes on its prediction. */
  demos: Array<{ slide: number, id: string, runMs: number, vote: boolean }>
  /** Lines of the notes that start with `Ask:`. */
  questions: number
  /** words ÷ 130 + the demos' runs + 40 s per vote + 30 s per question, in minutes (one decimal). */
  minutes: number
}

export interface Chapter {
  title: string
  /** 1-based number of its first slide. */
  first: number
  slides: number
  /** From the notes' `Time: N min.`; null when its first slide budgets nothing. */
  minutes: number | null
  /** The minutes its contents take, computed (see {@link Estimate}). */
  estimate: Estimate
}

export interface TalkPlan {
  slides: Slide[]
  /** Slides before "Questions": the timed talk. */
  main: Slide[]
  /** The opening (title, agenda) and each chapter of the main track. */
  chapters: Chapter[]
  /** The main track's computed minutes: the chapters' estimates added up (one decimal). */
  estimatedMinutes: number
  /** Slides from the appendix divider (`routeAlias: appendix`) on. */
  appendix: Slide[]
}

/** The first line of a slide's speaker notes, trimmed ('' without notes). */
export function firstNoteLine(s: Slide): string {
  return (s.note ?? '').trim().split('\n')[0]!.trim()
}

/** The words of a slide's notes a speaker says (not the budget, not the `Source:` lines). */
export function spokenWords(s: Slide): number {
  return (s.note ?? '').split('\n').map(l => l.trim()).filter(l => !UNSPOKEN.test(l))
    .join(' ').split(/\s+/).filter(w => /\w/.test(w)).length
}

/** The questions to the room in a slide's notes: lines that start with `Ask:`. */
export function questionsIn(s: Slide): number {
  return (s.note ?? '').split('\n').filter(l => QUESTION.test(l.trim())).length
}

/** How a component names its recording: `demo.recordable(<expr>, …)` or `useClearableRun(demo, <expr>, …)`. */
const RECORDABLE = /(?:\.recordable|useClearableRun\(\s*demo\s*,)\(?\s*('[^']*'|`[^`]*`|[^,]+?)\s*,/
/** An id expression the plan can work out: quotes, `props.x`, `===`, `? :` and `${}` only. */
const SIMPLE_EXPRESSION = /^[\w\s'`${}.=?:-]+$/

/** A demo component (components/<Tag>.vue) and how its recording id follows from a slide's props. */
interface DemoComponent {
  /** The recording id for the props a slide gives the tag. */
  id: (props: Record<string, unknown>) => string
  /** It asks the room a prediction (its frame's `predict`), as well as any in wire/predictions.ts. */
  predicts: boolean
}

/**
 * The deck's demo components, by tag: each `.vue` under `components/` that records a run, with
 * the expression naming its recording (a literal, or one built from its props: `pubsub-${props.mode}`).
 */
export function demoComponents(root = process.cwd()): Map<string, DemoComponent> {
  const dir = join(root, 'components')
  const found = new Map<string, DemoComponent>()
  for (const file of readdirSync(dir).filter(f => f.endsWith('.vue'))) {
    const source = readFileSync(join(dir, file), 'utf8')
    const expr = source.match(RECORDABLE)?.[1]
    if (!expr)
      continue
    if (!SIMPLE_EXPRESSION.test(expr))
      throw new Error(`components/${file}: cannot work out the recording id from ${expr}`)
    // The component's own code, from this repository: a literal or a choice among literals by its props.
    const evaluate = new Function('props', `return ${expr}`) as (props: Record<string, unknown>) => string
    found.set(file.replace(/\.vue$/, ''), { id: evaluate, predicts: /\s:?predict=/.test(source) })
  }
  return found
}

/** The tags a slide uses, with their attributes (`mode="fanout"` → `{ mode: 'fanout' }`, a bare `race` → `true`). */
export function tagsOn(s: Slide): Array<{ tag: string, props: Record<string, unknown> }> {
  return [...(s.content ?? '').matchAll(/<([A-Z][A-Za-z0-9]*)\b([^>]*?)\/?>/g)].map(([, tag, attrs]) => {
    const props: Record<string, unknown> = {}
    for (const [, name, value] of attrs!.matchAll(/([\w-]+)(?:="([^"]*)")?/g))
      props[name!] = value ?? true
    return { tag: tag!, props }
  })
}

/** The length of each recorded run, ms, by demo id (recordings/<id>.json `durationMs`). */
function recordedRuns(root: string): Map<string, number> {
  const dir = join(root, 'recordings')
  return new Map(readdirSync(dir).filter(f => f.endsWith('.json')).map((f) => {
    const rec = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { demo: string, durationMs: number }
    return [rec.demo, rec.durationMs]
  }))
}

const tenths = (n: number) => Math.round(n * 10) / 10

/** The estimate for `slides` (numbered from `first`), with the deck's demo components and recorded runs. */
function estimate(slides: Slide[], first: number, components: Map<string, DemoComponent>, runs: Map<string, number>): Estimate {
  let words = 0
  let questions = 0
  const demos: Estimate['demos'] = []
  slides.forEach((s, i) => {
    words += spokenWords(s)
    questions += questionsIn(s)
    for (const { tag, props } of tagsOn(s)) {
      const component = components.get(tag)
      if (!component)
        continue
      const id = component.id(props)
      const runMs = runs.get(id)
      if (runMs === undefined)
        throw new Error(`slide ${first + i} shows <${tag}>, whose recording recordings/${id}.json is missing: run \`npm run record -- --only ${id}\``)
      demos.push({ slide: first + i, id, runMs, vote: component.predicts || !!predictionFor(id) })
    }
  })
  const seconds = words / WORDS_PER_MINUTE * 60
    + demos.reduce((sum, d) => sum + d.runMs / 1000 + (d.vote ? VOTE_SECONDS : 0), 0)
    + questions * QUESTION_SECONDS
  return { words, demos, questions, minutes: tenths(seconds / 60) }
}

/** Reads `slides.md` under `root` (default: the working directory). Throws when it has no "Questions" slide. */
export async function loadTalk(root = process.cwd()): Promise<TalkPlan> {
  const slides = (await load({ userRoot: root, roots: [root] }, `${root}/slides.md`)).slides
  const questions = slides.findIndex(s => s.title === 'Questions')
  if (questions < 0)
    throw new Error('slides.md has no slide titled "Questions": it ends the main track')
  const main = slides.slice(0, questions)
  const groups: Array<{ title: string, first: number, slides: Slide[] }> = []
  main.forEach((s, i) => {
    if (i === 0 || s.frontmatter.layout === 'section')
      groups.push({ title: i === 0 ? 'Opening (title, agenda)' : s.title ?? `slide ${i + 1}`, first: i + 1, slides: [] })
    groups.at(-1)!.slides.push(s)
  })
  const components = demoComponents(root)
  const runs = recordedRuns(root)
  const chapters: Chapter[] = groups.map((g) => {
    const budget = firstNoteLine(g.slides[0]!).match(TIME)
    return { title: g.title, first: g.first, slides: g.slides.length, minutes: budget ? Number(budget[1]) : null, estimate: estimate(g.slides, g.first, components, runs) }
  })
  const appendixAt = slides.findIndex(s => s.frontmatter.routeAlias === 'appendix')
  return {
    slides,
    main,
    chapters,
    estimatedMinutes: tenths(chapters.reduce((sum, c) => sum + c.estimate.minutes, 0)),
    appendix: appendixAt < 0 ? [] : slides.slice(appendixAt),
  }
}

/** The rehearsal table, as `npm run plan` prints it (Markdown). */
export function planTable(plan: TalkPlan): string {
  const budget = plan.chapters.reduce((sum, c) => sum + (c.minutes ?? 0), 0)
  const demoSeconds = (c: Chapter) => Math.round(c.estimate.demos.reduce((sum, d) => sum + d.runMs, 0) / 1000)
  const lines = [
    `| chapter | slides | notes (words) | demos (run s) | votes | questions | computed min | budget min |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...plan.chapters.map(c => `| ${c.title} | ${c.slides} | ${c.estimate.words} | ${c.estimate.demos.length ? `${c.estimate.demos.length} (${demoSeconds(c)} s)` : '–'} | ${c.estimate.demos.filter(d => d.vote).length || '–'} | ${c.estimate.questions || '–'} | ${c.estimate.minutes.toFixed(1)} | ${c.minutes ?? '?'} |`),
    `| **main track** | **${plan.main.length}** | **${plan.chapters.reduce((n, c) => n + c.estimate.words, 0)}** | | | | **${plan.estimatedMinutes.toFixed(1)}** | **${budget}** |`,
    '',
    `computed: notes at ${WORDS_PER_MINUTE} words a minute, each demo's recorded run, ${VOTE_SECONDS} s per vote on a prediction, ${QUESTION_SECONDS} s per \`Ask:\` line in the notes`,
    `then Questions, then an appendix of ${plan.appendix.length} slides; ${plan.slides.length} slides in all`,
  ]
  return lines.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  console.log(planTable(await loadTalk()))
