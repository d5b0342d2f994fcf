// What the HTTP patterns' demos record of one client (composables/jobs.ts `PatternStats`, as JSON).
import type { PatternStats } from '../jobs.ts'

/** One client watching one job, as the HTTP patterns' demos record it. */
export type PatternStatsState = PatternStats
