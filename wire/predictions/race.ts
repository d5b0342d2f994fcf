// Chapter 9, the race: one job, four clients (components/RaceDemo.vue).
import type { PatternStatsState } from './stats.ts'
import { definePrediction } from './types.ts'
import { ms } from './format.ts'

type Client = 'rr' | 'short' | 'long' | 'sse'
/** RaceDemo's recorded state: one row per client. */
export interface RaceState {
  rows: Record<Client, PatternStatsState>
}

const NAMES: Record<Client, string> = { rr: 'request/response', short: 'short polling', long: 'long polling', sse: 'SSE' }
const CLIENTS = Object.keys(NAMES) as Client[]
/** Heard of the end within this of the quickest: a tie (what the slide marks as prompt). */
const TIE_MS = 20

/** The clients that heard of the end within TIE_MS of the quickest; null until every client is over (or when none heard). */
function first(s: RaceState): Client[] | null {
  const rows = s.rows
  if (!rows || CLIENTS.some(c => !rows[c] || (!rows[c].finished && !rows[c].error)))
    return null
  const delays = CLIENTS.filter(c => rows[c].delayMs !== null)
  if (!delays.length)
    return null // every client failed: nobody heard, nothing measured
  const quickest = Math.min(...delays.map(c => rows[c].delayMs!))
  return delays.filter(c => rows[c].delayMs! <= quickest + TIE_MS)
}

export const race = definePrediction<RaceState>({
  demo: 'race',
  question: 'Who hears first that the job is done?',
  options: [
    { id: 'sse', label: 'SSE' },
    { id: 'long', label: 'long polling' },
    { id: 'other', label: 'short polling or req./resp.' },
    { id: 'tie', label: 'a tie (≤ 20 ms apart)' },
  ],
  expected: 'tie',
  answer: (s) => {
    const f = first(s)
    if (!f)
      return null
    if (f.length !== 1)
      return 'tie'
    return f[0] === 'sse' || f[0] === 'long' ? f[0] : 'other'
  },
  reason: (s) => {
    const heard = CLIENTS.map(c => ({ c, d: s.rows[c].delayMs })).sort((a, b) => (a.d ?? Infinity) - (b.d ?? Infinity))
    return `Late by: ${heard.map(({ c, d }) => `${NAMES[c]} ${d === null ? 'never' : ms(d)}`).join(', ')}.`
  },
})

export default [race]
