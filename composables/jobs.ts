import type { Ref } from 'vue'
import type { JobEvent, JobView, PatternStats } from '../wire/jobs'
import type { Demo } from './demo'
import type { EventStream } from './sse'
import { reactive } from 'vue'
import { epochMs } from '../wire/clock'
import { followEventStream } from './sse'

export type { PatternStats }

export function newStats(pattern: string, lane: string): PatternStats {
  return reactive({ pattern, lane, requests: 0, bytes: 0, empty: 0, notReady: 0, delayMs: null, open: 0, heldMs: 0, job: null, finished: false, error: '' }) as PatternStats
}

/**
 * Records an answer: news or not, and the notification delay when it says the job ended.
 * `receivedAt` is when the answer or event reached the page (epoch ms), taken before anything was
 * logged or drawn, so that the page's own work does not count as lateness, and all patterns are
 * timed alike.
 */
function recordAnswer(stats: PatternStats, job: JobView, receivedAt: number): void {
  if (stats.job && job.version === stats.job.version)
    stats.empty++
  if (job.state === 'running')
    stats.notReady++
  stats.job = job
  if (job.state !== 'running' && !stats.finished) {
    stats.finished = true
    stats.delayMs = job.finishedAt === null ? null : Math.max(0, receivedAt - job.finishedAt)
  }
}

/** A recorded request that also counts into `stats`: requests, bytes, time held open. */
async function countedRequest<T>(demo: Demo, stats: PatternStats, path: string, init: { json?: unknown, expect?: number } = {}) {
  stats.requests++
  stats.open++
  const t0 = epochMs()
  try {
    const res = await demo.request<T>(path, { lane: stats.lane, ...init })
    stats.bytes += res.entry.sentBytes + res.entry.receivedBytes
    return res
  }
  finally {
    stats.open--
    stats.heldMs += epochMs() - t0
  }
}

// #region create
/** POST /jobs: starts a job and returns it (202 + Location). */
export async function postJob(demo: Demo, durationMs: number, stats?: PatternStats, extra: { fail?: boolean } = {}): Promise<JobView> {
  const body = { durationMs, ...extra }
  const res = stats
    ? await countedRequest<JobView>(demo, stats, '/jobs', { json: body, expect: 202 })
    : await demo.request<JobView>('/jobs', { json: body, lane: 'POST /jobs', expect: 202 })
  return res.data
}
// #endregion create

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms)
  signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
})

// #region short
/**
 * Short polling: GET /jobs/:id every `intervalMs` (read each time, so it can change live), on a
 * steady beat: the wait is counted from when the previous poll was due, not from its answer, so
 * round trips do not add up to polls ever further apart.
 */
export async function shortPoll(demo: Demo, id: string, stats: PatternStats, intervalMs: Ref<number> | (() => number)): Promise<void> {
  const interval = typeof intervalMs === 'function' ? intervalMs : () => intervalMs.value
  const signal = demo.signal()
  let due = epochMs()
  while (!signal.aborted && !stats.finished) {
    const res = await countedRequest<JobView>(demo, stats, `/jobs/${id}`)
    recordAnswer(stats, res.data, res.receivedAt)
    due = Math.max(due + interval(), epochMs()) // an answer slower than the interval: poll again at once
    if (!stats.finished)
      await sleep(due - epochMs(), signal)
  }
}
// #endregion short

// #region long
/** Long polling: GET /jobs/:id?wait=…&since=<version>, held until the job moves on. */
export async function longPoll(demo: Demo, id: string, stats: PatternStats, waitS = 10): Promise<void> {
  const signal = demo.signal()
  while (!signal.aborted && !stats.finished) {
    const since = stats.job?.version ?? 0
    const res = await countedRequest<JobView>(demo, stats, `/jobs/${id}?wait=${waitS}&since=${since}`)
    recordAnswer(stats, res.data, res.receivedAt)
  }
}
// #endregion long

// #region sse
/**
 * SSE: one GET /jobs/:id/events; every event is news, the final one ends it. `closed` settles
 * when the stream stops for good. A view that shows the frames adds its own `onFrame` listener.
 */
export function watchEvents(demo: Demo, id: string, stats: PatternStats): EventStream & { closed: Promise<void> } {
  const t0 = epochMs()
  stats.open++
  let closed!: () => void
  const done = new Promise<void>(resolve => (closed = resolve))
  const stream = followEventStream(demo, `/jobs/${id}/events`, {
    lane: stats.lane,
    onOpen: () => stats.requests++,
    isFinal: f => f.event === 'done' || f.event === 'failed',
    onFrame(f, receivedAt) {
      stats.bytes += f.bytes
      if (f.data && f.event)
        recordAnswer(stats, (JSON.parse(f.data) as JobEvent['data']), receivedAt)
    },
    onClose(reason) {
      stats.open--
      stats.heldMs += epochMs() - t0
      if (!stats.finished && reason.startsWith('HTTP'))
        stats.error = reason
      closed()
    },
  })
  return { ...stream, closed: done }
}
// #endregion sse

/**
 * Request/response: POST /work holds the request for the job's whole duration. `job` is a new
 * job's length in ms, or the id of a running one to wait for (the race: the job every client watches).
 */
export async function blockingCall(demo: Demo, job: number | string, stats: PatternStats): Promise<void> {
  const res = await countedRequest<JobView>(demo, stats, '/work', { json: typeof job === 'string' ? { jobId: job } : { durationMs: job } })
  recordAnswer(stats, res.data, res.receivedAt)
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
export function fmtJob(job: JobView | null): string {
  return !job ? '–' : job.state === 'running' ? `running ${job.progress}%` : job.state
}
