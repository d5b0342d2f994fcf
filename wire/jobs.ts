// Jobs on the wire: the job every HTTP pattern watches (`POST /jobs`, `GET /jobs/:id`, `GET /jobs/:id/events`) and the events SSE sends for it.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** Where a job is in its life. `running` until it ends in `done` or `failed`. */
export type JobState = 'running' | 'done' | 'failed'

/** The job as every pattern sees it (the JSON the API returns). */
export interface JobView {
  id: string
  state: JobState
  /** 0-100. */
  progress: number
  /** Bumped on every change; long polls wait for it to move, SSE uses it as the event id. */
  version: number
  durationMs: number
  /** Epoch ms (sub-ms precision) when the job was created. */
  createdAt: number
  /** Epoch ms of the latest change (what the benchmark measures delivery against). */
  updatedAt: number
  /** Epoch ms when the job reached `done`/`failed`; null while running. Clients compute notification delay from it. */
  finishedAt: number | null
  error?: string
}

/** One change, as SSE sends it: `id:` is the job version, `event:` the kind. */
export interface JobEvent {
  id: number
  event: 'progress' | 'done' | 'failed'
  data: JobView
}

/** What a viewer compares between patterns: one of these per pattern client (the deck records it: composables/jobs.ts; the predictions read it: wire/predictions/). */
export interface PatternStats {
  pattern: string
  lane: string
  requests: number
  /** Body bytes both ways (headers are not visible to the page). */
  bytes: number
  /** Answers that brought no news (same version as before, or a long poll that timed out). */
  empty: number
  /** Answers that said "still running" (not the final result). */
  notReady: number
  /** Server's finish time to the moment this client learned it, ms; null until it did. */
  delayMs: number | null
  /** Requests open right now, and the total time requests were held open, ms. */
  open: number
  heldMs: number
  job: JobView | null
  finished: boolean
  error: string
}
