// The work queue on the wire: workers as the API shows them and the events `/work-queue/events` streams.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

export type WorkerState = 'starting' | 'idle' | 'busy' | 'dead'

/** What a worker reports: the slide and the tests read these. */
export type WorkerEvent =
  | { type: 'delivered', worker: number, job: string, redelivered: boolean }
  | { type: 'acked', worker: number, job: string, ms: number }
  | { type: 'killed', worker: number, job?: string }
  | { type: 'cancelled', worker: number }
  /**
   * The broker closed the worker's channel on its own (the connection stays up), e.g. 406
   * PRECONDITION_FAILED when the worker held a job past the broker's `consumer_timeout`. The job
   * it held (`job`) goes back to the queue, flagged redelivered; the pool opens a new channel.
   * `reason` is amqplib's wording of the broker's channel.close.
   */
  | { type: 'channel-closed', worker: number, job?: string, reason: string }

/** A worker as the API shows it. */
export interface WorkerView {
  id: number
  state: WorkerState
  delayMs: number
  done: number
  current?: { job: string, redelivered: boolean, since: number }
  /** The last time the broker closed its channel on its own (e.g. a consumer timeout): why, the job it held, when (epoch ms). */
  channelClosed?: { reason: string, job?: string, at: number }
}

/** What `/work-queue/events` streams: a worker's report, or a change to the set of workers or jobs. */
export type PoolEvent = WorkerEvent | { type: 'workers' } | { type: 'published', jobs: string[] } | { type: 'reset' }
