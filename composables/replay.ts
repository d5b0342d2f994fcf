import type { TrafficEntry, TrafficLog } from './traffic'
import { epochMs } from '../wire/clock'

/**
 * A recorded run of one demo, as `npm run record` writes it to `recordings/<demo>.json`: the
 * traffic log exactly as the timeline draws it, the component's state as it changed, and where
 * and when it was recorded. The deck replays it when no demo server is there (a static copy,
 * the PDF, a laptop misbehaving on stage), always labelled as a recording.
 */
export interface Recording {
  /** Bumped when the shape of this file changes. */
  format: 1
  /** The demo's id (`recordable(id, …)`), also the file's name. */
  demo: string
  /** ISO 8601 time the run was recorded. */
  recordedAt: string
  /** What recorded it: `node`, `chromium`, `rabbitmq` (null: no broker), `os`, `server` (package version). */
  recordedWith: Record<string, string | null>
  /** Length of the run, ms: the replay lasts this long. */
  durationMs: number
  /** The traffic, one take per `log.clear()` during the run. */
  takes: Take[]
  /** The component's state: the first step sets every key, later ones only what changed. */
  states: StateStep[]
  /** The component's state at the end (what the PDF shows). */
  final: Record<string, unknown>
  /**
   * When each clicker step of the run began, ms into it, in click order: a replay plays one step
   * per click and waits between them, as the presenter does. Absent in recordings made before
   * steps were marked: those play whole on the first click.
   */
  steps?: StepMark[]
}

/** What a demo shows: its live run, or a recorded one (playing or played, or waiting for Play). */
export type DemoMode = 'live' | 'replay'

/** Clicker step `click` began `t` ms into the run. */
export interface StepMark {
  click: number
  t: number
}

/** One log between two clears: its clock started `at` ms after the run did (negative: before it). */
export interface Take {
  at: number
  /** Entries on the take's own clock (ms since `at`), without their `data`. */
  entries: TrafficEntry[]
}

/**
 * The state changes at `t` ms into the run: `[path, value]` sets the value at that path (state
 * key first, then object keys or array indexes), `[path]` deletes it.
 */
export interface StateStep {
  t: number
  set: StateChange[]
}
export type StateChange = [path: Array<string | number>, value?: unknown]

/** The state a demo records: JSON-able values by key. */
export type StateSnapshot = Record<string, unknown>

/** How often the recorder samples the component's state, ms. */
const SAMPLE_MS = 100

/** An entry as a recording keeps it: whole milliseconds, no `data` (the views never draw it). */
function compact(e: TrafficEntry): TrafficEntry {
  const { data: _data, ...rest } = e
  const out: TrafficEntry = { ...rest, start: Math.round(e.start) }
  if (e.end !== undefined)
    out.end = Math.round(e.end)
  return out
}

/** Fractions to 0.1: a recording keeps what the views show, not float noise. */
function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 10) / 10 : value
}

/**
 * Records a run on the page: every take of `log` and every change of `snapshot()` (sampled every
 * 100 ms and once at the end). `stop()` gives the run's traffic, states and final state.
 */
export class Recorder {
  private started = 0
  private takes: Take[] = []
  private states: StateStep[] = []
  private marks: StepMark[] = []
  private last: StateSnapshot | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  private offClear: (() => void) | undefined

  constructor(private readonly log: TrafficLog, private readonly snapshot: () => StateSnapshot) {}

  start(): void {
    this.started = epochMs()
    this.offClear = this.log.onClear((entries, t0) => this.takes.push(this.take(entries, t0)))
    this.sample()
    this.timer = setInterval(() => this.sample(), SAMPLE_MS)
  }

  /** Clicker step `click` begins now (its state sampled first, so the step starts from it). */
  mark(click: number): void {
    this.sample()
    this.marks.push({ click, t: Math.round(epochMs() - this.started) })
  }

  stop(): Pick<Recording, 'durationMs' | 'takes' | 'states' | 'final' | 'steps'> {
    clearInterval(this.timer)
    this.offClear?.()
    this.sample()
    const takes = [...this.takes, this.take(this.log.entries.value, this.log.t0)]
    return { durationMs: Math.round(epochMs() - this.started), takes, states: this.states, final: this.last ?? {}, steps: this.marks }
  }

  private take(entries: TrafficEntry[], t0: number): Take {
    return { at: Math.round(t0 - this.started), entries: entries.map(compact) }
  }

  private sample(): void {
    const now = JSON.parse(JSON.stringify(this.snapshot(), roundNumbers)) as StateSnapshot
    const set: StateChange[] = this.last ? diff(this.last, now, []) : Object.entries(now).map(([k, v]) => [[k], v])
    this.last = now
    if (set.length)
      this.states.push({ t: Math.round(epochMs() - this.started), set })
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)

/** What changed from `a` to `b` (JSON values): objects key by key, arrays element by element or appended to. */
export function diff(a: unknown, b: unknown, path: Array<string | number>): StateChange[] {
  if (isObject(a) && isObject(b)) {
    const out: StateChange[] = []
    for (const k of Object.keys(a)) {
      if (!(k in b))
        out.push([[...path, k]])
    }
    for (const [k, v] of Object.entries(b)) out.push(...(k in a ? diff(a[k], v, [...path, k]) : [[[...path, k], v] as StateChange]))
    return out
  }
  if (Array.isArray(a) && Array.isArray(b) && b.length >= a.length && a.length > 0) {
    const out: StateChange[] = []
    for (let i = 0; i < b.length; i++) out.push(...(i < a.length ? diff(a[i], b[i], [...path, i]) : [[[...path, i], b[i]] as StateChange]))
    // Rewriting most of the array costs more than sending it whole.
    return out.length > b.length / 2 + 1 ? [[path, b]] : out
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [[path, b]]
}

/** Applies `changes` to `state` (in place) and returns the state keys they touched. */
export function applyChanges(state: StateSnapshot, changes: StateChange[]): string[] {
  const touched = new Set<string>()
  for (const [path, ...value] of changes) {
    const key = String(path[0])
    touched.add(key)
    if (path.length === 1) {
      if (value.length)
        state[key] = value[0]
      else
        delete state[key]
      continue
    }
    let target: any = state
    for (const p of path.slice(0, -1)) target = target?.[p]
    if (target && typeof target === 'object') {
      if (value.length)
        target[path.at(-1)!] = value[0]
      else
        delete target[path.at(-1)!]
    }
  }
  return [...touched]
}

/** A recording being played: see {@link playRecording}. */
export interface Playback {
  /** Stops it where it is, for good. */
  stop: () => void
  /** Plays on until `t` ms into the run (`Infinity`: to its end); resumes it if it paused. */
  playTo: (t: number) => void
}

/** What {@link playRecording} calls back: `paused` when it reached the time it was to stop at, `ended` at the run's end. */
export interface PlaybackEvents {
  paused?: (at: number) => void
  ended: () => void
}

/** One thing a replay does at `t` ms into the run; `state`: a change of the component's state (not traffic). */
interface ReplayStep { t: number, run: () => void, state?: boolean }

/**
 * Plays `rec` in real time into `log` and through `apply` (which sets state keys), up to `until`
 * ms into the run (default: all of it), then calls `events.paused` (the log's clock stopped there
 * until `playTo` goes on; the time paused does not count) or, at its end, `events.ended`. The log's
 * clock runs as it did in the run, so open bars grow and ticks land where they did; at the end the
 * clock stops at the run's end. Never faster or slower than it was recorded.
 */
export function playRecording(rec: Recording, log: TrafficLog, apply: (set: StateSnapshot) => void, events: PlaybackEvents, until = Number.POSITIVE_INFINITY): Playback {
  let take: Take | undefined
  const steps = replaySteps(rec, log, apply, tk => (take = tk))
  steps.push({ t: rec.durationMs, run: () => {
    log.freeze(rec.durationMs - (take?.at ?? 0))
    apply(rec.final)
    events.ended()
  } })
  let t0 = epochMs()
  let limit = until
  let pausedAt: number | undefined
  let i = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  // A pause at a clicker step's mark comes after the state sampled as it began, before its traffic.
  const due = (s: ReplayStep, now: number) => s.t <= now && (s.t < limit || (s.t === limit && !!s.state))
  function next(): void {
    const now = Math.min(epochMs() - t0, limit)
    while (i < steps.length && due(steps[i]!, now)) steps[i++]!.run()
    if (i >= steps.length)
      return
    if (now >= limit) {
      pausedAt = limit
      log.freeze(limit - (take?.at ?? 0))
      events.paused?.(limit)
      return
    }
    timer = setTimeout(next, Math.min(steps[i]!.t, limit) - now)
  }
  next()
  return {
    stop: () => clearTimeout(timer),
    playTo(t: number): void {
      clearTimeout(timer)
      limit = t
      if (pausedAt !== undefined) { // the clocks go on from where they stopped
        t0 = epochMs() - pausedAt
        log.load([...log.entries.value], pausedAt - (take?.at ?? 0))
        pausedAt = undefined
      }
      next()
    },
  }
}

/**
 * What replaying `rec` does, in time order: each take's clear (it calls `onTake`), each entry's
 * begin and end, each state change. At one time, state changes come first, then a take's clear
 * before its entries, an entry's begin before its end.
 */
function replaySteps(rec: Recording, log: TrafficLog, apply: (set: StateSnapshot) => void, onTake: (take: Take) => void): ReplayStep[] {
  const steps: ReplayStep[] = []
  const copies = new Map<number, TrafficEntry>()
  for (const tk of rec.takes) {
    steps.push({ t: Math.max(0, tk.at), run: () => {
      onTake(tk)
      copies.clear()
      log.load([], Math.max(0, -tk.at))
    } })
    for (const e of tk.entries) {
      const tick = e.end === e.start
      steps.push({ t: Math.max(0, tk.at + e.start), run: () => {
        const copy = tick ? { ...e } : { ...e, end: undefined, status: undefined, error: undefined, receivedBytes: 0 }
        copies.set(e.id, copy)
        log.entries.value = [...log.entries.value, copy]
      } })
      if (!tick && e.end !== undefined) {
        steps.push({ t: Math.max(0, tk.at + e.end), run: () => {
          const copy = copies.get(e.id)
          if (copy)
            log.update(copy, { end: e.end, status: e.status, error: e.error, receivedBytes: e.receivedBytes })
        } })
      }
    }
  }
  const mirror: StateSnapshot = {}
  for (const s of rec.states) {
    steps.push({ t: s.t, state: true, run: () => {
      const keys = applyChanges(mirror, s.set)
      apply(Object.fromEntries(keys.map(k => [k, mirror[k]])))
    } })
  }
  // Stable: the order above holds at equal times, except that state changes come first.
  return steps.sort((a, b) => a.t - b.t || Number(!!b.state) - Number(!!a.state))
}

/**
 * When clicker step `click` of `rec` ends in a replay: when the next marked step began, or the
 * run's end (`Infinity`) after the last one, or for a recording with no marks.
 */
export function stepEnd(rec: Recording, click: number): number {
  const later = (rec.steps ?? []).filter(m => m.click > click).map(m => m.t)
  return later.length ? Math.min(...later) : Number.POSITIVE_INFINITY
}

/** How many clicker steps a replay of `rec` plays one by one (1: it plays whole). */
export function stepCount(rec: Recording): number {
  return Math.max(1, new Set((rec.steps ?? []).map(m => m.click)).size)
}

/** Shows how `rec` ended, at once: its last take with the clock stopped, and its final state. */
export function showRecordingEnd(rec: Recording, log: TrafficLog, apply: (set: StateSnapshot) => void): void {
  const last = rec.takes.at(-1)
  log.load((last?.entries ?? []).map(e => ({ ...e })))
  log.freeze(rec.durationMs - (last?.at ?? 0))
  apply(rec.final)
}

/** The recordings committed under `recordings/`, by demo id (bundled: a static copy needs no request for them). */
const files = import.meta.glob<Recording>('../recordings/*.json', { eager: true, import: 'default' })
export const RECORDINGS: Record<string, Recording> = Object.fromEntries(Object.values(files).map(r => [r.demo, r]))

/** `2026-12-01` of a recording, for its label. */
export function recordedOn(rec: Recording): string {
  return rec.recordedAt.slice(0, 10)
}
