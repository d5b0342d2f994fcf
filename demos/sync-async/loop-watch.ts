import type { Response } from 'express'
import { availableParallelism, loadavg } from 'node:os'

/** What the event loop did while one request was being served, and how busy the machine was. */
export interface LoopReport {
  /** The longest the loop was late for anything (a timer, a socket, a request), ms. */
  loopDelayMs: number
  /** Heartbeat requests the server answered meanwhile. */
  heartbeatsServed: number
  /** The machine's 1-minute load average when the request ended (0 where the OS has none, e.g. Windows). */
  load1m: number
  /** CPU cores Node may use. */
  cpus: number
}

/**
 * Watches the event loop of this server. `beat()` counts a heartbeat answered;
 * `watch()` starts measuring and returns `stop()`, which reports what happened since.
 * `watch(res)` also stops by itself when that response closes, so a request that fails
 * half-way never leaves the timer running.
 *
 * The delay is measured the simplest way: a timer due every `everyMs` (default 10 ms) notes
 * how late it fires; a blocked loop fires it late by as long as it was blocked. It is measured
 * on the server, so a busy client machine cannot change it. Production code would read
 * `perf_hooks.monitorEventLoopDelay()` (a histogram kept by libuv) instead.
 */
export function loopWatch(everyMs = 10): { beat: () => void, watch: (res?: Response) => () => LoopReport } {
  let heartbeats = 0
  return {
    beat: () => { heartbeats++ },
    watch(res) {
      const firstBeat = heartbeats
      let worst = 0
      let last = performance.now()
      const sample = () => {
        const now = performance.now()
        worst = Math.max(worst, now - last - everyMs)
        last = now
      }
      const timer = setInterval(sample, everyMs)
      let report: LoopReport | undefined
      const stop = (): LoopReport => {
        if (!report) {
          clearInterval(timer)
          sample()
          report = {
            loopDelayMs: Math.round(Math.max(0, worst)),
            heartbeatsServed: heartbeats - firstBeat,
            load1m: Math.round(loadavg()[0]! * 100) / 100,
            cpus: availableParallelism(),
          }
        }
        return report
      }
      res?.once('close', stop)
      return stop
    },
  }
}
