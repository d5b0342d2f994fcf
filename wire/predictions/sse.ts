// Chapter 8, Server-Sent Events: the raw stream cut halfway (components/SseDemo.vue), and what held
// connections cost (components/CapacityDemo.vue).
import type { CapacityResult } from '../capacity.ts'
import type { PatternStatsState } from './stats.ts'
import { definePrediction } from './types.ts'
import { count, inRange } from './format.ts'

/** SseDemo's recorded state: its client, and each connection of the stream with the lines it showed. */
export interface SseState {
  stats: PatternStatsState
  connections: Array<{ n: number, lastEventId: string | null, lines: Array<{ kind: string, id?: string, replayed?: boolean }> }>
}

/** The event ids the page got, in order (every connection), and the ids the job went through (1 to its last version). */
function events(s: SseState) {
  const got = s.connections.flatMap(c => c.lines.filter(l => l.kind === 'event' && l.id !== undefined).map(l => Number(l.id)))
  const last = s.stats.job?.version ?? Math.max(0, ...got)
  const all = Array.from({ length: last }, (_, i) => i + 1)
  return {
    got,
    missing: all.filter(id => !got.includes(id)),
    twice: all.filter(id => got.indexOf(id) !== got.lastIndexOf(id)),
    replayed: s.connections.flatMap(c => c.lines).filter(l => l.replayed).length,
  }
}

export const sse = definePrediction<SseState>({
  demo: 'sse',
  question: 'Five progress steps, and the connection is cut halfway: which events reach the page?',
  options: [
    { id: 'all-once', label: 'all, exactly once' },
    { id: 'missing', label: 'some missing' },
    { id: 'twice', label: 'none missing, some twice' },
  ],
  expected: 'all-once',
  answer: (s) => {
    if (!s.stats?.finished || (s.connections?.length ?? 0) < 2) // the question is about a cut: no answer from an uncut run
      return null
    const e = events(s)
    return e.missing.length ? 'missing' : e.twice.length ? 'twice' : 'all-once'
  },
  reason: (s) => {
    const e = events(s)
    const resumed = s.connections.length > 1 ? `${e.replayed} replayed after the cut (Last-Event-ID ${s.connections.at(-1)!.lastEventId})` : 'the connection was not cut'
    const gaps = `${e.missing.length ? `missing ${e.missing.join(' ')}` : 'none missing'}, ${e.twice.length ? `twice ${e.twice.join(' ')}` : 'none twice'}`
    return `Ids ${e.got.join(' ')}: ${gaps}; ${resumed}; ${count(s.stats.requests, 'request')}.`
  },
})

/** CapacityDemo's recorded state, the part the answer reads: the latest run of each mode and size. */
export interface CapacityState {
  runs: CapacityResult[]
}

/** The question is about event streams: the SSE run (click 1; 1,000 of them). */
const streams = (s: CapacityState) => s.runs?.find(r => r.mode === 'sse')

export const capacity = definePrediction<CapacityState>({
  demo: 'capacity',
  question: '1,000 held event streams: how much server memory does each one cost?',
  options: [
    { id: 'lt2', label: '< 2 KB' },
    { id: '2-32', label: '2–32 KB' },
    { id: '32-512', label: '32–512 KB' },
    { id: '512-up', label: '≥ 512 KB' },
  ],
  expected: '2-32',
  answer: (s) => {
    const r = streams(s)
    return r ? inRange(r.rssPerConnectionKb, [['lt2', 2], ['2-32', 32], ['32-512', 512]], '512-up') : null
  },
  reason: (s) => {
    const r = streams(s)!
    const grew = (r.rssHeldKb - r.rssBeforeKb) / 1024
    return `${r.rssPerConnectionKb.toFixed(1)} KB each: the server grew ${grew.toFixed(1)} MB holding ${count(r.held, 'event stream')}.`
  },
})

export default [sse, capacity]
