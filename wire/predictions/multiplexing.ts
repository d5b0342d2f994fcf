// Chapter 15, multiplexing: ten slow requests over HTTP/1.1 (six connections) and HTTP/2 (one) (components/Http2Demo.vue).
import type { RunReport } from '../multiplexing.ts'
import { definePrediction } from './types.ts'
import { ms } from './format.ts'

/** Http2Demo's recorded state: the two runs, once both are back. */
export interface Http2State {
  runs: RunReport[]
}

/** Within this share of each other, the two runs took about the same time. */
const SAME = 0.1

function both(s: Http2State) {
  const h1 = s.runs?.find(r => r.protocol === 'http/1.1')
  const h2 = s.runs?.find(r => r.protocol === 'h2')
  return h1 && h2 ? { h1, h2 } : null
}

export const http2 = definePrediction<Http2State>({
  demo: 'http2',
  question: 'Which has all 10 answers first?',
  options: [
    { id: 'h1', label: 'HTTP/1.1 (6 connections)' },
    { id: 'same', label: 'a tie (±10 %)' },
    { id: 'h2', label: 'HTTP/2 (1 connection)' },
  ],
  expected: 'h2',
  answer: (s) => {
    const r = both(s)
    if (!r)
      return null
    const ratio = r.h2.totalMs / r.h1.totalMs
    return ratio < 1 - SAME ? 'h2' : ratio > 1 + SAME ? 'h1' : 'same'
  },
  reason: (s) => {
    const { h1, h2 } = both(s)!
    return `HTTP/1.1: ${ms(h1.totalMs)} on ${h1.tcpConnections} TCP connections; HTTP/2: ${ms(h2.totalMs)} on ${h2.tcpConnections}, ${h2.spans.length} streams at once.`
  },
})

export default [http2]
