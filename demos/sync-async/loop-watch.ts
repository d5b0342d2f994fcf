/** What the event loop did while one request was being served. */
export interface LoopReport {
  /** The longest the loop was late for anything (a timer, a socket, a request), ms. */
  loopDelayMs: number
  /** Heartbeat requests the server answered meanwhile. */
  heartbeatsServed: number
}

/**
 * Watches the event loop of this server. `beat()` counts a heartbeat answered;
 * `watch()` starts measuring and returns `stop()`, which reports what happened since.
 *
 * The delay is measured the simplest way: a timer due every `everyMs` (default 10 ms) notes
 * how late it fires; a blocked loop fires it late by as long as it was blocked. It is measured
 * on the server, so a busy client machine cannot change it. Production code would read
 * `perf_hooks.monitorEventLoopDelay()` (a histogram kept by libuv) instead.
 */
export function loopWatch(everyMs = 10): { beat: () => void, watch: () => () => LoopReport } {
  let heartbeats = 0
  return {
    beat: () => { heartbeats++ },
    watch() {
      const firstBeat = heartbeats
      let worst = 0
      let last = performance.now()
      const sample = () => {
        const now = performance.now()
        worst = Math.max(worst, now - last - everyMs)
        last = now
      }
      const timer = setInterval(sample, everyMs)
      return () => {
        clearInterval(timer)
        sample()
        return { loopDelayMs: Math.round(Math.max(0, worst)), heartbeatsServed: heartbeats - firstBeat }
      }
    },
  }
}
