import { randomBytes } from 'node:crypto'
import type { JobJournal } from './journal.ts'
import { epochMs } from '../../wire/clock.ts'
import type { JobEvent, JobView } from '../../wire/jobs.ts'

/** Limits of the job store. Defaults in `DEFAULT_JOB_OPTIONS`; the demo server takes maxJobs and ttlMs from its config. */
export interface JobOptions {
  /** Most jobs kept at once; the oldest finished ones are evicted first. Default 1000. */
  maxJobs: number
  /** How long a finished job stays readable, ms. Default 10 minutes. */
  ttlMs: number
  /** Progress steps of a job (each one a state change). Default 5. */
  steps: number
  /** Longest `?wait=` a long poll may ask for, seconds. Default 30. */
  maxWaitS: number
  /** Events kept per job for `Last-Event-ID` replay. Default 50. */
  replayLimit: number
}

export const DURATION_MIN_MS = 100
export const DURATION_MAX_MS = 60_000

export const DEFAULT_JOB_OPTIONS: Readonly<JobOptions> = { maxJobs: 1000, ttlMs: 10 * 60_000, steps: 5, maxWaitS: 30, replayLimit: 50 }

/** A job as the journal keeps it: its view, how it will end, and the events kept for replay. */
export interface JournalEntry extends JobView {
  /** At what progress it fails (`fail: true` means 60); undefined: it succeeds. */
  failAt?: number
  events: JobEvent[]
}

interface Job extends JournalEntry {
  timer?: NodeJS.Timeout
}

/** Thrown when the store is full of running jobs. */
export class StoreFullError extends Error {}

/** Called with each change of the job it watches. */
export type JobWatcher = (event: JobEvent) => void

/**
 * The jobs every HTTP pattern watches. Jobs progress on the server by themselves (one
 * timer per running job); every change is handed to the job's watchers at once, so a long
 * poll or an SSE stream wakes up when it happens instead of re-checking in a loop.
 * Bounded: at most `maxJobs`, finished ones forgotten after `ttlMs`.
 */
export class JobStore {
  private readonly jobs = new Map<string, Job>()
  /** Watchers per job id: a Set, so 10,000 polls on one job come and go in O(1) each. */
  private readonly watchers = new Map<string, Set<JobWatcher>>()
  readonly options: JobOptions

  /**
   * @param journal where jobs are written as they change; the jobs it holds are taken back at once
   *   and running ones go on where they were (steps that fell due meanwhile happen now, in order).
   */
  constructor(options: Partial<JobOptions> = {}, private readonly journal?: JobJournal<JournalEntry>) {
    this.options = { ...DEFAULT_JOB_OPTIONS, ...options }
    for (const { events, ...view } of journal?.all() ?? []) {
      const job: Job = { ...view, events }
      if (this.expired(job)) {
        journal?.delete(job.id)
        continue
      }
      this.jobs.set(job.id, job)
      if (job.state === 'running')
        this.schedule(job)
    }
  }

  // #region create
  /**
   * Creates a job that runs for `durationMs` and reports progress in `steps` changes.
   * @throws {StoreFullError} all `maxJobs` are running; `JournalError` (journal.ts) its row could not be written (no job is made).
   */
  create(durationMs: number, failAt?: number): JobView {
    this.evict()
    const job: Job = {
      id: randomBytes(6).toString('base64url'),
      state: 'running',
      progress: 0,
      version: 0,
      durationMs,
      createdAt: epochMs(),
      updatedAt: 0,
      finishedAt: null,
      failAt,
      events: [],
    }
    this.change(job, {}, true) // written before anyone learns of it: a job the journal refused never was
    this.jobs.set(job.id, job)
    this.schedule(job)
    return this.view(job)
  }

  private schedule(job: Job): void {
    // Each step is due at a fixed time after creation: no drift, and a job taken back from the
    // journal after a restart catches up on the steps that fell due while the server was down.
    const stepMs = job.durationMs / this.options.steps
    const stepsDone = Math.round(job.progress / (100 / this.options.steps))
    const dueIn = job.createdAt + (stepsDone + 1) * stepMs - epochMs()
    job.timer = setTimeout(() => {
      job.timer = undefined
      const progress = Math.min(100, job.progress + 100 / this.options.steps)
      if (job.failAt !== undefined && progress >= job.failAt)
        return this.change(job, { state: 'failed', error: `failed at ${job.failAt}%`, finishedAt: epochMs() })
      if (progress >= 100)
        return this.change(job, { state: 'done', progress: 100, finishedAt: epochMs() })
      this.change(job, { progress })
      this.schedule(job)
    }, Math.max(0, dueIn))
  }
  // #endregion create

  // #region notify
  /**
   * Applies a change, keeps it for replay, and wakes every watcher of this job; then the journal
   * writes it (after the watchers: a disk write, and now and then a WAL checkpoint, is not between
   * a change and the clients told of it). If it cannot right now, the change stands in memory
   * (readers and watchers see it) and the journal writes the job's newest state when it can
   * (`JobJournal.saveLater`). With `mustSave` (a new job, see `create`: nobody watches it yet) it
   * is written first, and the journal's JournalError is thrown instead: the caller drops the job.
   */
  private change(job: Job, patch: Partial<Job>, mustSave = false): void {
    Object.assign(job, patch)
    job.version++
    job.updatedAt = job.finishedAt ?? epochMs()
    const view = this.view(job)
    const event: JobEvent = { id: job.version, event: job.state === 'running' ? 'progress' : job.state, data: view }
    job.events.push(event)
    if (job.events.length > this.options.replayLimit)
      job.events.shift()
    const { timer: _timer, ...entry } = job
    if (mustSave)
      this.journal?.save(entry)
    for (const watcher of [...this.watchers.get(job.id) ?? []])
      watcher(event)
    if (!mustSave)
      this.journal?.saveLater(entry)
  }
  // #endregion notify

  /**
   * Ends running job `id` now, `done` at progress 100, as if its last step had come: its timer is
   * stopped and every watcher is told at once (the capacity demo's one change to many clients).
   * Returns the job as it now is (its `finishedAt` is the server's stamp of that change), or
   * undefined when there is no such running job.
   */
  finish(id: string): JobView | undefined {
    const job = this.jobs.get(id)
    if (!job || job.state !== 'running')
      return undefined
    clearTimeout(job.timer)
    job.timer = undefined
    this.change(job, { state: 'done', progress: 100, finishedAt: epochMs() })
    return this.view(job)
  }

  /**
   * Forgets job `id` now, running or not: its timer stopped, its journal row deleted, its
   * watchers dropped (they hear nothing more). For a job a demo made for itself (the capacity
   * demo's), once its clients are gone; a user's jobs expire by themselves.
   */
  remove(id: string): void {
    clearTimeout(this.jobs.get(id)?.timer)
    this.watchers.delete(id)
    this.forget(id)
  }

  /** Calls `watcher` with every change of job `id` from now on; returns the function that stops it. */
  watch(id: string, watcher: JobWatcher): () => void {
    let set = this.watchers.get(id)
    if (!set)
      this.watchers.set(id, set = new Set())
    set.add(watcher)
    return () => {
      set.delete(watcher)
      if (set.size === 0 && this.watchers.get(id) === set)
        this.watchers.delete(id)
    }
  }

  /** The job's current state, or undefined if unknown (never existed, or expired). */
  get(id: string): JobView | undefined {
    const job = this.jobs.get(id)
    if (!job)
      return undefined
    if (this.expired(job)) {
      this.forget(id)
      return undefined
    }
    return this.view(job)
  }

  /** Events after `lastId` still in the replay buffer, oldest first. */
  eventsAfter(id: string, lastId: number): JobEvent[] {
    return this.jobs.get(id)?.events.filter(e => e.id > lastId) ?? []
  }

  /**
   * Whether the journal can write right now: `failing` from a failed write until one succeeds again
   * (changes are kept in memory meanwhile, new jobs refused); `ok` otherwise, or without a journal.
   */
  get journalState(): 'ok' | 'failing' {
    return this.journal?.state ?? 'ok'
  }

  /** Number of jobs kept right now. */
  get size(): number {
    return this.jobs.size
  }

  /** Watchers of job `id`, or of every job (tests check they return to zero). */
  watcherCount(id?: string): number {
    if (id !== undefined)
      return this.watchers.get(id)?.size ?? 0
    let n = 0
    for (const set of this.watchers.values()) n += set.size
    return n
  }

  /** Stops every running job's timer (server shutdown); the journal keeps them for the next start. */
  close(): void {
    for (const job of this.jobs.values()) clearTimeout(job.timer)
    this.jobs.clear()
    this.watchers.clear()
    this.journal?.close()
  }

  private forget(id: string): void {
    this.jobs.delete(id)
    this.journal?.delete(id)
  }

  private expired(job: Job): boolean {
    return job.finishedAt !== null && epochMs() - job.finishedAt > this.options.ttlMs
  }

  /** Forgets expired jobs; if still full, the oldest finished one; if all run, refuses. */
  private evict(): void {
    for (const [id, job] of this.jobs) {
      if (this.expired(job))
        this.forget(id)
    }
    if (this.jobs.size < this.options.maxJobs)
      return
    for (const [id, job] of this.jobs) {
      if (job.state !== 'running') {
        this.forget(id)
        return
      }
    }
    throw new StoreFullError(`${this.jobs.size} jobs are running (the limit); try again when one finishes`)
  }

  private view(job: Job): JobView {
    const { id, state, progress, version, durationMs, createdAt, updatedAt, finishedAt, error } = job
    return error === undefined
      ? { id, state, progress, version, durationMs, createdAt, updatedAt, finishedAt }
      : { id, state, progress, version, durationMs, createdAt, updatedAt, finishedAt, error }
  }
}
