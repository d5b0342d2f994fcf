// What the HTTP patterns' demos record of one client (composables/jobs.ts `PatternStats`, as JSON).
import type { JobView } from '../jobs.ts'

/** One client watching one job: requests, bodies, how late it heard of the end. */
export interface PatternStatsState {
  pattern: string
  lane: string
  requests: number
  /** Body bytes, both ways. */
  bytes: number
  /** Answers that said nothing new. */
  empty: number
  /** Answers that said "still running". */
  notReady: number
  /** From the job's end to this client hearing of it, ms; null until it did. */
  delayMs: number | null
  open: number
  heldMs: number
  job: JobView | null
  /** It heard the job end. */
  finished: boolean
  error: string
}
