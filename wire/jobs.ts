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
