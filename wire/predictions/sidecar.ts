// Chapter 17, the sidecar: the same app with a retrying proxy beside it (components/SidecarDemo.vue).
import type { SidecarStats } from '../sidecar.ts'
import { definePrediction } from './types.ts'

/** SidecarDemo's recorded state: the deployed app's counters (read after its orders), and its orders' outcomes. */
export interface SidecarState {
  stats: SidecarStats | null
  ok: number
  failed: number
}

/** The run with the sidecar is over: its orders placed and the processes' counters read after them. */
const over = (s: SidecarState) => !!s.stats?.sidecar && s.stats.app.requests > 0 && s.stats.app.requests === s.ok + s.failed

export const sidecar = definePrediction<SidecarState>({
  demo: 'sidecar',
  question: 'The price service fails every other call. With a sidecar in front of it, how many of the 6 orders succeed?',
  options: [
    { id: 'none', label: 'none' },
    { id: 'half-or-fewer', label: 'half or fewer' },
    { id: 'most', label: 'more than half, not all' },
    { id: 'all', label: 'all of them' },
  ],
  expected: 'all',
  answer: (s) => {
    if (!over(s))
      return null
    if (s.failed === 0)
      return 'all'
    if (s.ok === 0)
      return 'none'
    return s.ok > s.failed ? 'most' : 'half-or-fewer'
  },
  reason: (s) => {
    const { app, proxy, upstream } = s.stats!
    return `${s.ok} of ${s.ok + s.failed} orders succeeded: the app made ${app.upstreamCalls} price calls, the sidecar ${proxy?.attempts ?? 0} attempts (${proxy?.retries ?? 0} retries), and the price service saw ${upstream.attempts}.`
  },
})

export default [sidecar]
