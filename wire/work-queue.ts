// The work queue on the wire: workers as the API shows them and the events `/work-queue/events` streams.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

export type WorkerState = 'starting' | 'idle' | 'busy' | 'dead'

/** What a worker reports: the slide and the tests read these. */
export type WorkerEvent =
  | { type: 'delivered', worker: number, job: string, redelivered: boolean }
  | { type: 'acked', worker: number, job: string, ms: number }
  | { type: 'killed', worker: number, job?: string }
  | { type: 'cancelled', worker: number }

/** A worker as the API shows it. */
export interface WorkerView {
  id: number
  state: WorkerState
  delayMs: number
  done: number
  current?: { job: string, redelivered: boolean, since: number }
}

/** What `/work-queue/events` streams: a worker's report, or a change to the set of workers or jobs. */
export type PoolEvent = WorkerEvent | { type: 'workers' } | { type: 'published', jobs: string[] } | { type: 'reset' }
