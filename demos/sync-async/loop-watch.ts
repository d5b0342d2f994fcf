import type { Response } from 'express'
import { availableParallelism, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import type { LoopReport } from '../../wire/sync-async.ts'

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
 * The loop's utilization (the share of the time it ran code instead of waiting) is Node's own
 * `performance.eventLoopUtilization()`, taken at `watch()` and again at `stop()`; `timerTicks`
 * counts the timer's firings (0 when the loop never got back to it).
 */
export function loopWatch(everyMs = 10): { beat: () => void, watch: (res?: Response) => () => LoopReport } {
  let heartbeats = 0
  return {
    beat: () => { heartbeats++ },
    watch(res) {
      const firstBeat = heartbeats
      const elu = performance.eventLoopUtilization()
      let worst = 0
      let ticks = 0
      let last = performance.now()
      const sample = () => {
        const now = performance.now()
        worst = Math.max(worst, now - last - everyMs)
        last = now
      }
      const timer = setInterval(() => {
        ticks++
        sample()
      }, everyMs)
      let report: LoopReport | undefined
      const stop = (): LoopReport => {
        if (!report) {
          clearInterval(timer)
          sample()
          report = {
            loopDelayMs: Math.round(Math.max(0, worst)),
            heartbeatsServed: heartbeats - firstBeat,
            loopUtilization: Math.round(performance.eventLoopUtilization(elu).utilization * 100) / 100,
            timerTicks: ticks,
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
