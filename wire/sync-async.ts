// Sync vs async on the wire: the event loop's report and a CPU job's result.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** What the event loop did while one request was being served, and how busy the machine was. */
export interface LoopReport {
  /** The longest the loop was late for anything (a timer, a socket, a request), ms. */
  loopDelayMs: number
  /** Heartbeat requests the server answered meanwhile. */
  heartbeatsServed: number
  /**
   * How much of the time the loop was busy running code rather than waiting for I/O or timers,
   * 0 to 1 (two decimals): Node's event loop utilization (`performance.eventLoopUtilization()`,
   * node:perf_hooks), measured on the server, so no client (a starved browser sending fewer
   * heartbeats) can change it. Exactly 1 while the work runs on the loop. Beside a worker thread it
   * grows with the machine's load, as the OS pauses the loop in the middle of its callbacks: 0.07-0.2
   * measured at load 5-18 on 2 cores, 0.5-0.8 at load 18-23 in a process that also drove Chromium
   * (see `timerTicks` for a measure no load moves).
   */
  loopUtilization: number
  /**
   * How many times the server's own 10 ms timer fired while the request was served: the loop's own
   * heartbeat, counted on the server. Exactly 0 while the work runs on the loop (it is stuck on one
   * line); about the run's length / 10 ms beside a worker thread, fewer on a busy machine but never
   * 0, whatever the clients send.
   */
  timerTicks: number
  /** The machine's 1-minute load average when the request ended (0 where the OS has none, e.g. Windows). */
  load1m: number
  /** CPU cores Node may use. */
  cpus: number
}

export interface CpuResult {
  primes: number
  /** Time the worker spent computing, whole ms. */
  cpuMs: number
  /** Time the job waited (queue, thread start-up, message passing), whole ms. */
  waitMs: number
}
