import type { DemoContext } from '../platform/context.ts'
import type { ForkedChild } from '../platform/children.ts'
import type { JobView } from '../../wire/jobs.ts'
import { forkChild } from '../platform/children.ts'
import { HttpError } from '../platform/http.ts'
import type { CapacityMode, CapacityPhase, CapacityProgress, CapacityResult } from '../../wire/capacity.ts'
import { createRefusal } from '../jobs/index.ts'

/** Short-polling intervals the result compares with, ms. */
export const SHORT_POLL_INTERVALS_MS = [1000, 300] as const
/** The run's own job lasts this long (ms), so its next step by itself (at a fifth of it) comes long after any run's deadline. */
const JOB_MS = 10 * 60_000
/** How long the connections may take to be released once the helper is gone, ms. */
const RELEASE_MS = 5000

/** What the demo server tells the helper process (demos/capacity/clients.ts) over IPC. */
export type HelperCommand = {
  type: 'open'
  /** The demo server on loopback: `127.0.0.1` or `::1`, and its port. */
  host: string
  port: number
  mode: CapacityMode
  /** Path and headers of every client's request. */
  path: string
  headers: Record<string, string>
  count: number
  /** Text in the bytes a client receives that means "told of the change". */
  marker: string
  /**
   * Loopback address the clients connect from (default: the system's choice). Each source address
   * has its own ephemeral port range: the bench's 100,000-connection row spreads its load generators
   * over 127.0.0.2, 127.0.0.3, ... so none runs out of ports (about 28,000 per address).
   */
  localAddress?: string
  /**
   * With `localAddress`: the client ports, `localPort`, `localPort + 1`, ... in order. Binding to a
   * given port is one lookup; leaving the choice to the kernel makes it search the address's whole
   * range for every client (opening 19,000 took a minute, most of it in the kernel).
   */
  localPort?: number
  /** Clients opened at once before a short pause (default 250: under the server's listen backlog of 511). */
  batch?: number
}

/**
 * What the helper reports over IPC: `ready` once it listens for commands; `progress` after each
 * batch and `opened` after the last one (clients open now, clients failed so far); `received` once
 * every client has been told or has failed (`failed` counts them all, at opening or later), with
 * the epoch ms (`epochMs()`, wire/clock.ts) at which the first and the last one got the change.
 */
export type HelperReport =
  | { type: 'ready' }
  | { type: 'progress' | 'opened', opened: number, failed: number }
  | { type: 'received', told: number, failed: number, first: number | null, last: number | null }

const round1 = (n: number) => Math.round(n * 10) / 10
const round2 = (n: number) => Math.round(n * 100) / 100

/** Where a client waits for the job's change from `version` to `version + 1`, and what tells it the change arrived. */
function requestFor(mode: CapacityMode, job: JobView): Pick<HelperCommand, 'path' | 'headers' | 'marker'> {
  const next = job.version + 1
  return mode === 'sse'
    ? { path: `/jobs/${job.id}/events`, headers: { 'Accept': 'text/event-stream', 'Last-Event-ID': String(job.version) }, marker: `\nid: ${next}\n` }
    : { path: `/jobs/${job.id}?wait=30&since=${job.version}`, headers: { Accept: 'application/json' }, marker: `"version":${next},` }
}

/**
 * One capacity run, started at once: a helper process (clients.ts) opens `connections` clients of
 * `mode` to this demo server on loopback, all waiting on one job of the run's own; once the server
 * holds them all, its memory is read, the job is finished (the one change), and the run waits
 * until the helper reports every client told; then the helper exits and the run waits for the
 * server's holds to drop back. `result` settles only when the helper is gone and the job removed,
 * whatever happened: a 504 HttpError past `ctx.config.capacityDeadlineMs`, a 503 on shutdown,
 * an Error when `stop()` was called (the client left) or the helper failed.
 */
export class CapacityRun {
  readonly result: Promise<CapacityResult>
  private phase: CapacityPhase = 'starting'
  private opened = 0
  /** The run's own job, once made: its watchers are the connections this run holds. */
  private jobId?: string
  private readonly baseline: number
  private readonly t0 = performance.now()
  private readonly stopper = new AbortController()
  /** Reports of the helper not yet taken by `next()`, oldest first: one sent before anyone waits for it is not lost. */
  private readonly inbox: HelperReport[] = []
  /** The helper's exit code once it is gone and its IPC channel closed (every report read), else undefined. */
  private helperClosed?: { code: number | null }

  /**
   * @param server where the helper finds this demo server: a loopback address and the port it listens on.
   */
  constructor(private readonly ctx: DemoContext, private readonly server: { host: string, port: number }, readonly mode: CapacityMode, readonly connections: number) {
    this.baseline = ctx.lifecycle.openCount
    this.result = this.run()
  }

  /** Stops the run now (the client left, the server shuts down): `result` rejects with `reason` once everything is released. Safe to call twice. */
  stop(reason: Error): void {
    if (!this.stopper.signal.aborted)
      this.stopper.abort(reason)
  }

  /** Where the run is. */
  progress(): CapacityProgress {
    return {
      running: true,
      mode: this.mode,
      connections: this.connections,
      phase: this.phase,
      opened: this.opened,
      held: this.jobId ? this.ctx.jobs.watcherCount(this.jobId) : 0,
      elapsedMs: Math.round(performance.now() - this.t0),
    }
  }

  private async run(): Promise<CapacityResult> {
    const { jobs, lifecycle, config } = this.ctx
    const deadline = setTimeout(() => this.stop(new HttpError(504, `the run was not over within ${config.capacityDeadlineMs} ms (CAPACITY_DEADLINE_MS): it was stopped and its connections closed`)), config.capacityDeadlineMs)
    let job: JobView
    try {
      job = jobs.create(JOB_MS)
      this.jobId = job.id
    }
    catch (err) {
      clearTimeout(deadline)
      throw createRefusal(err) // 429 full, 503 the jobs database cannot be written
    }
    const helper = forkChild(new URL('./clients.ts', import.meta.url), { name: 'capacity clients', env: { CAPACITY_DEADLINE_MS: String(config.capacityDeadlineMs) } })
    helper.process.on('message', (m: HelperReport) => {
      if (m.type === 'progress' || m.type === 'opened')
        this.opened = m.opened
      if (m.type !== 'progress')
        this.inbox.push(m)
    })
    helper.process.once('close', (code: number | null) => this.helperClosed = { code })
    try {
      await this.next(helper, 'ready')
      const rssBefore = process.memoryUsage.rss()
      // #region measure
      const tOpen = performance.now()
      this.phase = 'opening'
      helper.process.send({ type: 'open', ...this.server, mode: this.mode, count: this.connections, ...requestFor(this.mode, job) } satisfies HelperCommand)
      const { opened } = await this.next(helper, 'opened')
      // Held = the server has each request and keeps its response open, watching this run's job
      // (not /health's count of every held connection: a deck's own stream may close meanwhile).
      await this.until(() => jobs.watcherCount(job.id) >= opened)
      const openMs = performance.now() - tOpen
      this.phase = 'holding'
      const rssHeld = process.memoryUsage.rss()
      const held = jobs.watcherCount(job.id)
      this.phase = 'telling'
      const changed = jobs.finish(job.id)! // the one change: every watcher is woken now
      const told = await this.next(helper, 'received')
      // #endregion measure
      this.phase = 'closing'
      await Promise.race([helper.gone, this.aborted()])
      await this.until(() => lifecycle.openCount <= this.baseline, RELEASE_MS).catch(() => {})
      return {
        mode: this.mode,
        connections: this.connections,
        held,
        failed: told.failed,
        rssBeforeKb: Math.round(rssBefore / 1024),
        rssHeldKb: Math.round(rssHeld / 1024),
        rssPerConnectionKb: round1((rssHeld - rssBefore) / 1024 / Math.max(1, held)),
        openMs: Math.round(openMs),
        changedAt: changed.finishedAt!,
        firstToldMs: told.first === null ? null : round2(told.first - changed.finishedAt!),
        tellAllMs: told.last === null ? null : round2(told.last - changed.finishedAt!),
        told: told.told,
        shortPolling: SHORT_POLL_INTERVALS_MS.map(intervalMs => ({ intervalMs, requestsPerSecond: Math.round(this.connections * 1000 / intervalMs) })),
        openConnections: { before: this.baseline, after: lifecycle.openCount },
        helper: { pid: helper.pid, exitCode: helper.process.exitCode },
        runMs: Math.round(performance.now() - this.t0),
      }
    }
    finally {
      clearTimeout(deadline)
      await helper.stop(500) // closes its sockets (SIGTERM), or SIGKILL: the kernel closes them
      jobs.remove(job.id)
      if (this.stopper.signal.aborted)
        await this.until(() => lifecycle.openCount <= this.baseline, RELEASE_MS, false).catch(() => {})
    }
  }

  /** Rejects with the stop reason once the run is stopped. */
  private aborted(): Promise<never> {
    const signal = this.stopper.signal
    return new Promise((_resolve, reject) => {
      if (signal.aborted)
        return reject(signal.reason)
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
  }

  /**
   * The helper's next report of `type` (taken from the inbox, or waited for); rejects if the helper
   * is gone first (its 'close': every message it sent has been read by then) or the run is stopped.
   */
  private next<T extends HelperReport['type']>(helper: ForkedChild, type: T): Promise<Extract<HelperReport, { type: T }>> {
    const child = helper.process
    const signal = this.stopper.signal
    const take = () => {
      const i = this.inbox.findIndex(m => m.type === type)
      return i < 0 ? undefined : this.inbox.splice(i, 1)[0] as Extract<HelperReport, { type: T }>
    }
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = take()
        if (m) {
          done()
          resolve(m)
        }
      }
      const onClose = (code: number | null) => {
        done()
        const m = take()
        if (m)
          return resolve(m)
        reject(new Error(`the helper process exited (code ${code}) before it reported "${type}"`))
      }
      const onAbort = () => {
        done()
        reject(signal.reason)
      }
      function done() {
        child.off('message', check)
        child.off('close', onClose)
        signal.removeEventListener('abort', onAbort)
      }
      if (signal.aborted)
        return reject(signal.reason)
      const ready = take()
      if (ready)
        return resolve(ready)
      if (this.helperClosed)
        return onClose(this.helperClosed.code)
      child.on('message', check) // after the inbox's own listener: the report is in the inbox by then
      child.once('close', onClose)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Resolves once `check()` is true, checking every 10 ms; rejects when the run is stopped (if `stoppable`) or after `timeoutMs`. */
  private async until(check: () => boolean, timeoutMs = Number.POSITIVE_INFINITY, stoppable = true): Promise<void> {
    const end = performance.now() + timeoutMs
    while (!check()) {
      if (stoppable && this.stopper.signal.aborted)
        throw this.stopper.signal.reason
      if (performance.now() > end)
        throw new Error(`not so within ${timeoutMs} ms`)
      await new Promise(r => setTimeout(r, 10))
    }
  }
}

