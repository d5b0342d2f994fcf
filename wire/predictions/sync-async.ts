// Chapter 5, sync and async: CPU work on the event loop or on a worker thread (components/SyncAsyncDemo.vue).
import type { LoopReport } from '../sync-async.ts'
import { definePrediction } from './types.ts'

/** One run as the demo records it: the server's own counts. */
type Run = Pick<LoopReport, 'heartbeatsServed' | 'timerTicks'> & { cpuMs: number }

/** SyncAsyncDemo's recorded state, the part the answer reads: each variant's last run. */
export interface SyncAsyncState {
  results: { blocking?: Run, worker?: Run }
}

export const syncAsync = definePrediction<SyncAsyncState>({
  demo: 'sync-async',
  question: 'Primes on the loop, then on a thread: are heartbeats answered meanwhile?',
  options: [
    { id: 'thread-only', label: 'thread only' },
    { id: 'both', label: 'both' },
    { id: 'loop-only', label: 'loop only' },
    { id: 'neither', label: 'neither' },
  ],
  expected: 'thread-only',
  answer: (s) => {
    const { blocking, worker } = s.results ?? {}
    if (!blocking || !worker)
      return null
    const loop = blocking.heartbeatsServed > 0
    const thread = worker.heartbeatsServed > 0
    return loop ? (thread ? 'both' : 'loop-only') : (thread ? 'thread-only' : 'neither')
  },
  reason: (s) => {
    const { blocking, worker } = s.results as Required<SyncAsyncState['results']>
    return `Heartbeats answered: ${blocking.heartbeatsServed} with the loop busy (its 10 ms timer fired ${blocking.timerTicks} times), ${worker.heartbeatsServed} with a thread.`
  },
})

export default [syncAsync]
