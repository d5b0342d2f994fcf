import type { TrafficEntry } from './traffic'

/**
 * The time axis of a timeline, fitted to what it shows: pure functions, so the rules (where the
 * axis starts, how far it reaches, which ticks it labels, what each mark means) hold the same
 * live, in a replay and in the PDF. Times are ms on the traffic log's clock (`TrafficLog.now()`).
 */

/** The visible stretch of time: `from` to `to` across the width; tick labels count from `origin` (their 0). */
export interface TimeSpan {
  origin: number
  from: number
  to: number
}

/** How a timeline picks its span: see {@link fitSpan}. */
export interface SpanOptions {
  /** Draw from this time on (its 0), or nothing yet (`null`); default: the first mark's start. */
  since?: number | null
  /** The longest span shown, ms: past it the window slides with the newest mark. Default: no limit. */
  windowMs?: number
  /** The shortest span, ms, so one quick request is not stretched across the whole width. Default 1000. */
  minSpanMs?: number
}

/** Room after the last mark, as a share of the span: its end (and a tick's 6 px) stays inside. */
const END_PAD = 0.03

/** A mark as the axis sees it. */
export type Mark = Pick<TrafficEntry, 'kind' | 'start' | 'end'>

/**
 * How far right a mark reaches: its end; `now` for a request still waiting (it grows); its start
 * for a stream still held (it runs off the right edge, dashed, and does not stretch the axis:
 * a connection held through a minute of talk would squeeze its events into a corner).
 */
export function reach(m: Mark, now: number): number {
  return m.end ?? (m.kind === 'stream' ? m.start : now)
}

/**
 * The span that fits `marks` (each from `start` to its {@link reach}): from the first mark (or
 * `since`) to the last reach plus 3 %, at least `minSpanMs` long; once that passes `windowMs`, the
 * last `windowMs` of it (older marks leave at the left). `null` when there is nothing to draw: no
 * marks, or `since` is `null`.
 */
export function fitSpan(marks: readonly Mark[], now: number, options: SpanOptions = {}): TimeSpan | null {
  const { since, windowMs, minSpanMs = 1000 } = options
  if (since === null)
    return null
  const shown = since === undefined ? marks : marks.filter(m => (m.end ?? now) >= since)
  if (!shown.length)
    return since === undefined ? null : { origin: since, from: since, to: since + minSpanMs }
  const origin = since ?? Math.min(...shown.map(m => m.start))
  const last = Math.max(origin, ...shown.map(m => reach(m, now)))
  const fitted = Math.max(minSpanMs, (last - origin) * (1 + END_PAD))
  if (windowMs === undefined || fitted <= windowMs)
    return { origin, from: origin, to: origin + fitted }
  const to = last + windowMs * END_PAD
  return { origin, from: to - windowMs, to }
}

/**
 * A sliding window's length, ms, that keeps `runs` side by side: `windowMs`, or longer when they
 * span more than it (a busy machine stretched them), so that all of them fit with `lingerMs` to
 * spare; they then stay in view about that long after the last one ends, as on an idle machine.
 * `runs` are the marks the reader compares (one per kind: the latest of each), open ones reaching `now`.
 */
export function windowKeeping(runs: readonly Mark[], now: number, windowMs: number, lingerMs = windowMs / 2): number {
  if (!runs.length)
    return windowMs
  const from = Math.min(...runs.map(m => m.start))
  const to = Math.max(...runs.map(m => reach(m, now)))
  return Math.max(windowMs, (to - from) / (1 - END_PAD) + lingerMs)
}

/** Where time `t` sits across `span`, in percent of its width, clamped to 0–100. */
export function percentAcross(span: TimeSpan, t: number): number {
  return Math.min(100, Math.max(0, ((t - span.from) / (span.to - span.from)) * 100))
}

/** A mark is drawn when any of it falls inside the span (an open one reaches `now`). */
export function inSpan(span: TimeSpan, m: Pick<TrafficEntry, 'start' | 'end'>, now: number): boolean {
  return (m.end ?? now) >= span.from && m.start <= span.to
}

/** Tick steps, ms: round numbers a reader adds up at a glance. */
const STEPS = [10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000]

/**
 * The axis labels of `span`: at most `most` ticks, on a round step counted from the origin, in
 * one unit for the whole axis (`ms` below 2 s of span, else `s`): `0`, `500 ms`, `1 s`, ...
 */
export function axisTicks(span: TimeSpan, most: number): Array<{ t: number, label: string }> {
  const width = span.to - span.from
  const step = STEPS.find(s => width / s <= Math.max(2, most)) ?? 120_000
  const seconds = width >= 2000
  const ticks: Array<{ t: number, label: string }> = []
  for (let rel = Math.ceil((span.from - span.origin) / step) * step; span.origin + rel <= span.to; rel += step) {
    const label = rel === 0 ? '0' : seconds ? `${+(rel / 1000).toFixed(2)} s` : `${rel} ms`
    ticks.push({ t: span.origin + rel, label })
  }
  return ticks
}

/** What a mark on the timeline is, for its colour and the legend. */
export type MarkKind = 'answered' | 'waiting' | 'stream' | 'refused' | 'failed' | 'tick'

/** The kind of mark `e` is drawn as: a tick for an event, frame or note; else a bar by how it stands. */
export function markKind(e: Pick<TrafficEntry, 'kind' | 'end' | 'status' | 'error'>): MarkKind {
  if (e.kind !== 'request' && e.kind !== 'stream')
    return 'tick'
  if (e.error)
    return 'failed'
  if (e.kind === 'stream')
    return 'stream'
  if (e.end === undefined)
    return 'waiting'
  return e.status !== undefined && e.status >= 400 ? 'refused' : 'answered'
}

/** The legend's words for each kind of mark, in plain words; a demo may say it its own way. */
export const LEGEND_WORDS: Record<MarkKind, string> = {
  answered: 'request, answered',
  waiting: 'request waiting for its answer',
  stream: 'held open: one long response',
  refused: 'answered 4xx/5xx',
  failed: 'failed: no answer',
  tick: 'event',
}

/** Legend order: the kinds as a reader meets them. */
export const LEGEND_ORDER: MarkKind[] = ['answered', 'waiting', 'stream', 'tick', 'refused', 'failed']
