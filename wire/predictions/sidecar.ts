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
  question: 'Every other price call fails. With a sidecar, how many of 6 orders succeed?',
  // Labels for the slide's 6 orders; the answer compares successes with failures, so it holds for any count.
  options: [
    { id: 'none', label: 'none' },
    { id: 'half-or-fewer', label: '1–3' },
    { id: 'most', label: '4–5' },
    { id: 'all', label: 'all 6' },
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
    const { app, proxy } = s.stats!
    return `${s.ok} of ${s.ok + s.failed} orders ok: the app made ${app.upstreamCalls} price calls, the sidecar ${proxy?.attempts ?? 0} attempts (${proxy?.retries ?? 0} retries).`
  },
})

export default [sidecar]
