import { Worker } from 'node:worker_threads'
import { HttpError } from '../platform/http.ts'
import type { CpuResult } from '../../wire/sync-async.ts'

export interface CpuWorkerOptions {
  /** Jobs accepted at once (running + queued); more get a 503. Default 4. */
  maxJobs?: number
  /** The thread is stopped after this long without work, ms. Default 30000. */
  idleMs?: number
}

interface Job {
  id: number
  n: number
  enqueuedAt: number
  resolve: (r: CpuResult) => void
  reject: (e: Error) => void
}

/**
 * One long-lived worker thread, started on first use, that runs jobs one at a time.
 * A plain worker thread starts in tens of ms; this one first loads a TypeScript loader
 * (worker-boot.mjs: about 100 ms on an idle laptop, seconds on a busy one), so it is reused,
 * and stopped after `idleMs` without work so a server nobody uses holds no thread.
 */
export class CpuWorker {
  private worker: Worker | undefined
  private readonly queue: Job[] = []
  private current: Job | undefined
  private nextId = 1
  private idleTimer: ReturnType<typeof setTimeout> | undefined
  private closed = false
  private readonly maxJobs: number
  private readonly idleMs: number

  constructor(options: CpuWorkerOptions = {}) {
    this.maxJobs = options.maxJobs ?? 4
    this.idleMs = options.idleMs ?? 30_000
  }

  /** Jobs running or waiting. */
  get pending(): number {
    return this.queue.length + (this.current ? 1 : 0)
  }

  /** True while a thread exists. */
  get running(): boolean {
    return this.worker !== undefined
  }

  /** Counts primes below `n` on the thread. A job still queued when `signal` aborts is dropped. */
  run(n: number, signal?: AbortSignal): Promise<CpuResult> {
    if (this.closed)
      return Promise.reject(new HttpError(503, 'the server is shutting down'))
    if (this.pending >= this.maxJobs)
      return Promise.reject(new HttpError(503, `the worker is busy: at most ${this.maxJobs} jobs at once`, { 'Retry-After': '1' }))
    return new Promise<CpuResult>((resolve, reject) => {
      const job: Job = { id: this.nextId++, n, enqueuedAt: performance.now(), resolve, reject }
      this.queue.push(job)
      signal?.addEventListener('abort', () => {
        const i = this.queue.indexOf(job)
        if (i >= 0) {
          this.queue.splice(i, 1)
          reject(new Error('client went away'))
        }
      }, { once: true })
      this.pump()
    })
  }

  /** Rejects what waits and stops the thread. */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.idleTimer)
    const current = this.current
    this.current = undefined
    for (const job of [...(current ? [current] : []), ...this.queue.splice(0)])
      job.reject(new HttpError(503, 'the server is shutting down'))
    const w = this.worker
    this.worker = undefined
    if (w)
      await w.terminate()
  }

  private pump(): void {
    if (this.current || this.closed)
      return
    const job = this.queue.shift()
    if (!job)
      return
    clearTimeout(this.idleTimer)
    this.current = job
    this.thread().postMessage({ id: job.id, n: job.n })
  }

  private thread(): Worker {
    if (this.worker)
      return this.worker
    const w = new Worker(new URL('./worker-boot.mjs', import.meta.url))
    // The thread alone must not keep the process alive.
    w.unref()
    w.on('message', (msg: { id: number, primes: number, cpuMs: number }) => {
      const job = this.current
      if (!job || job.id !== msg.id)
        return
      this.current = undefined
      const waitMs = Math.max(0, performance.now() - job.enqueuedAt - msg.cpuMs)
      job.resolve({ primes: msg.primes, cpuMs: Math.round(msg.cpuMs), waitMs: Math.round(waitMs) })
      this.pump()
      if (!this.current)
        this.idleTimer = setTimeout(() => void this.stopIdle(), this.idleMs).unref()
    })
    w.on('error', err => this.fail(w, err))
    w.on('exit', code => this.fail(w, new Error(`worker thread exited with code ${code}`)))
    this.worker = w
    return w
  }

  private fail(w: Worker, err: Error): void {
    if (this.worker !== w)
      return
    this.worker = undefined
    const job = this.current
    this.current = undefined
    job?.reject(err)
    this.pump()
  }

  private async stopIdle(): Promise<void> {
    const w = this.worker
    if (!w || this.pending)
      return
    this.worker = undefined
    await w.terminate()
  }
}
