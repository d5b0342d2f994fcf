// Chapter 7, long polling: one held request per change (components/LongPollingDemo.vue).
import type { PatternStatsState } from './stats.ts'
import { definePrediction } from './types.ts'
import { inRange, ms } from './format.ts'

/** LongPollingDemo's recorded state: its one client. */
export interface LongPollingState {
  stats: PatternStatsState
}

export const longPolling = definePrediction<LongPollingState>({
  demo: 'long-polling',
  question: 'A 4 s transcode, five progress steps, each GET held until there is news: how many requests, POST included?',
  options: [
    { id: '1-2', label: '1–2' },
    { id: '3-8', label: '3–8' },
    { id: '9-14', label: '9–14' },
    { id: '15-up', label: '≥ 15' },
  ],
  expected: '3-8',
  answer: s => s.stats?.finished ? inRange(s.stats.requests, [['1-2', 3], ['3-8', 9], ['9-14', 15]], '15-up') : null,
  reason: (s) => {
    const { requests, empty, delayMs } = s.stats
    const late = delayMs === null ? '' : `; it heard of the end ${ms(delayMs)} late`
    return `${requests} requests: the POST and ${requests - 1} held GETs, ${empty} of them empty${late}.`
  },
})

export default [longPolling]
