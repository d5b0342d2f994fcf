// Chapter 1, the smallest conversation: one GET /ping (components/PingDemo.vue).
import { definePrediction } from './types.ts'
import { inRange, ms } from './format.ts'

/** PingDemo's recorded state: the pings, newest first (four at most). */
export interface PingState {
  pings: Array<{ n: number, status: number, ms: number, bytes: number }>
}

/** The first ping on the slide (after an unmeasured warm-up): the oldest one kept. */
const first = (s: PingState) => s.pings?.at(-1)

export const ping = definePrediction<PingState>({
  demo: 'ping',
  question: 'One request to a server on this same laptop: how long, there and back?',
  options: [
    { id: 'lt1', label: '< 1 ms' },
    { id: '1-10', label: '1–10 ms' },
    { id: '10-100', label: '10–100 ms' },
    { id: '100-up', label: '≥ 100 ms' },
  ],
  expected: '10-100', // a browser's fetch on a laptop: 16–18 ms recorded (recordings/ping.json); curl alone 1–2 ms
  answer: (s) => {
    const p = first(s)
    return p ? inRange(p.ms, [['lt1', 1], ['1-10', 10], ['10-100', 100]], '100-up') : null
  },
  reason: s => `The first GET /ping took ${ms(first(s)!.ms)} there and back, on a connection already open.`,
})

export default [ping]
