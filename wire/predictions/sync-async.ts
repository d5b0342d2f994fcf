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
  question: 'The server counts primes for most of a second, first on its event loop, then on a worker thread. Does it answer the heartbeats (one every 100 ms) meanwhile?',
  options: [
    { id: 'thread-only', label: 'only with the worker thread' },
    { id: 'both', label: 'yes, both times' },
    { id: 'loop-only', label: 'only on the event loop' },
    { id: 'neither', label: 'neither time' },
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
    return `Heartbeats the server answered while it counted: ${blocking.heartbeatsServed} with the work on its loop (its own 10 ms timer fired ${blocking.timerTicks} times), ${worker.heartbeatsServed} with it on a worker thread.`
  },
})

export default [syncAsync]
