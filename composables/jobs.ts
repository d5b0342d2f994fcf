import type { Ref } from 'vue'
import type { Demo } from './demo'
import type { SseFrame } from './sse'
import { reactive } from 'vue'
import { openEventStream } from './sse'

/** The job as the demo server returns it (demos/jobs/store.ts). */
export interface Job {
  id: string
  state: 'running' | 'done' | 'failed'
  progress: number
  version: number
  durationMs: number
  createdAt: number
  /** Epoch ms when the server finished it; null while running. */
  finishedAt: number | null
  error?: string
}

/** What a viewer compares between patterns: one of these per pattern client. */
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
  job: Job | null
  finished: boolean
  error: string
}

/** Epoch ms with sub-ms precision: the same clock the server stamps `finishedAt` with. */
export const epochNow = () => performance.timeOrigin + performance.now()

export function newStats(pattern: string, lane: string): PatternStats {
  return reactive({ pattern, lane, requests: 0, bytes: 0, empty: 0, notReady: 0, delayMs: null, open: 0, heldMs: 0, job: null, finished: false, error: '' }) as PatternStats
}

/** Records an answer: news or not, and the notification delay when it says the job ended. */
function learn(stats: PatternStats, job: Job): void {
  if (stats.job && job.version === stats.job.version)
    stats.empty++
  if (job.state === 'running')
    stats.notReady++
  stats.job = job
  if (job.state !== 'running' && !stats.finished) {
    stats.finished = true
    stats.delayMs = job.finishedAt === null ? null : Math.max(0, epochNow() - job.finishedAt)
  }
}

/** A recorded request that also counts into `stats`. */
async function timed<T>(demo: Demo, stats: PatternStats, path: string, init: { json?: unknown, method?: string } = {}) {
  stats.requests++
  stats.open++
  const t0 = performance.now()
  try {
    const res = await demo.request<T>(path, { lane: stats.lane, ...init })
    const entry = [...demo.log.entries.value].reverse().find(e => e.lane === stats.lane && e.kind === 'request' && e.url === path)
    stats.bytes += (entry?.sentBytes ?? 0) + (entry?.receivedBytes ?? 0)
    return res
  }
  finally {
    stats.open--
    stats.heldMs += performance.now() - t0
  }
}

// #region create
/** POST /jobs: starts a job and returns it (202 + Location). */
export async function createJob(demo: Demo, durationMs: number, stats?: PatternStats, extra: { fail?: boolean } = {}): Promise<Job> {
  const body = { durationMs, ...extra }
  const res = stats
    ? await timed<Job>(demo, stats, '/jobs', { json: body })
    : await demo.request<Job>('/jobs', { json: body, lane: 'client' })
  if (res.status !== 202)
    throw new Error(`POST /jobs answered ${res.status}`)
  return res.data
}
// #endregion create

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms)
  signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
})

// #region short
/** Short polling: GET /jobs/:id every `intervalMs` (read each time, so it can change live). */
export async function shortPoll(demo: Demo, id: string, stats: PatternStats, intervalMs: Ref<number> | (() => number)): Promise<void> {
  const interval = typeof intervalMs === 'function' ? intervalMs : () => intervalMs.value
  const signal = demo.signal()
  while (!signal.aborted && !stats.finished) {
    const res = await timed<Job>(demo, stats, `/jobs/${id}`)
    learn(stats, res.data)
    if (!stats.finished)
      await sleep(interval(), signal)
  }
}
// #endregion short

// #region long
/** Long polling: GET /jobs/:id?wait=…&since=<version>, held until the job moves on. */
export async function longPoll(demo: Demo, id: string, stats: PatternStats, waitS = 10): Promise<void> {
  const signal = demo.signal()
  while (!signal.aborted && !stats.finished) {
    const since = stats.job?.version ?? 0
    const res = await timed<Job>(demo, stats, `/jobs/${id}?wait=${waitS}&since=${since}`)
    learn(stats, res.data)
  }
}
// #endregion long

// #region sse
/** SSE: one GET /jobs/:id/events; every event is news, the final one ends it. */
export function watchEvents(demo: Demo, id: string, stats: PatternStats, onFrame?: (f: SseFrame) => void) {
  const t0 = performance.now()
  stats.open++
  return openEventStream(demo, `/jobs/${id}/events`, {
    lane: stats.lane,
    onOpen: () => stats.requests++,
    isFinal: f => f.event === 'done' || f.event === 'failed',
    onFrame(f) {
      stats.bytes += f.bytes
      if (f.data && f.event)
        learn(stats, JSON.parse(f.data) as Job)
      onFrame?.(f)
    },
    onClose(reason) {
      stats.open--
      stats.heldMs += performance.now() - t0
      if (!stats.finished && reason.startsWith('HTTP'))
        stats.error = reason
    },
  })
}
// #endregion sse

/** Request/response: POST /work holds the request for the job's whole duration. */
export async function blockingCall(demo: Demo, durationMs: number, stats: PatternStats): Promise<void> {
  const res = await timed<Job>(demo, stats, '/work', { json: { durationMs } })
  learn(stats, res.data)
}

/** `12 ms`, `1.3 s`, or a dash. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined)
    return '–'
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`
}

/** `512 B`, `3.4 kB`. */
export function fmtBytes(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)} kB` : `${n} B`
}

/** `running 40%`, `done`, `failed`, or a dash. */
export function fmtJob(job: Job | null): string {
  return !job ? '–' : job.state === 'running' ? `running ${job.progress}%` : job.state
}
