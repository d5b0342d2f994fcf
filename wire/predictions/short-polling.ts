// Chapter 6, short polling: a job polled on a fixed beat (components/ShortPollingDemo.vue).
import { definePrediction } from './types.ts'
import { inRange, ms } from './format.ts'

/** One finished run of ShortPollingDemo: what its interval cost. */
interface PollRun { intervalMs: number, requests: number, notReady: number, bytes: number, delayMs: number | null }

/** ShortPollingDemo's recorded state, the part the answer reads: its finished runs, oldest first. */
export interface ShortPollingState {
  runs: PollRun[]
}

/** The question is about polling every second: the first run at 1,000 ms (click 1 at the slider's default). */
const everySecond = (s: ShortPollingState) => s.runs?.find(r => r.intervalMs === 1000)

export const shortPolling = definePrediction<ShortPollingState>({
  demo: 'short-polling',
  question: 'A 4.5 s transcode, polled every second: how many requests does the page send, POST included?',
  options: [
    { id: 'up-to-4', label: '≤ 4' },
    { id: '5-9', label: '5–9' },
    { id: '10-14', label: '10–14' },
    { id: '15-up', label: '≥ 15' },
  ],
  expected: '5-9',
  answer: (s) => {
    const run = everySecond(s)
    return run ? inRange(run.requests, [['up-to-4', 5], ['5-9', 10], ['10-14', 15]], '15-up') : null
  },
  reason: (s) => {
    const r = everySecond(s)!
    const late = r.delayMs === null ? '' : `; it heard of the end ${ms(r.delayMs)} late`
    return `${r.requests} requests: the POST and ${r.requests - 1} polls, ${r.notReady} of them "not ready"${late}.`
  },
})

export default [shortPolling]
