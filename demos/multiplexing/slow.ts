import type { Response } from 'express'
import type { DemoContext } from '../platform/context.ts'
import { HttpError } from '../platform/http.ts'
import type { SlowAnswer } from '../../wire/multiplexing.ts'

/** What the server saw of one browser run: how many of its requests were in flight at once, on which sockets. */
interface BrowserRun { t0: number, inFlight: number, maxInFlight: number, sockets: Map<string, number> }

/** Browser runs remembered at once; the oldest is forgotten first. */
const MAX_REMEMBERED = 50

/**
 * The browser's runs of `GET /multiplexing/slow`: per run id, how many of its requests are in
 * flight and on which sockets (numbered in order of first use), for the newest 50 runs.
 * Shutdown (registered here) clears the answers' timers.
 */
export class SlowRuns {
  private readonly runs = new Map<string, BrowserRun>()
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(ctx: DemoContext) {
    ctx.lifecycle.onShutdown(() => {
      for (const t of this.timers) clearTimeout(t)
    })
  }

  /**
   * Counts this request of run `id`, arrived on `socket` (the client's port), and answers it
   * after `ms` with what the run looked like; a request answered or abandoned stops counting.
   */
  answerLater(res: Response, id: string, socket: string, ms: number): void {
    const run = this.runs.get(id) ?? { t0: performance.now(), inFlight: 0, maxInFlight: 0, sockets: new Map() }
    this.runs.delete(id)
    this.runs.set(id, run) // newest last
    if (this.runs.size > MAX_REMEMBERED)
      this.runs.delete(this.runs.keys().next().value!)
    if (!run.sockets.has(socket))
      run.sockets.set(socket, run.sockets.size + 1)
    const arrivedMs = performance.now() - run.t0
    const inFlightAtArrival = ++run.inFlight
    run.maxInFlight = Math.max(run.maxInFlight, run.inFlight)
    const timer = setTimeout(() => res.json({
      run: id, arrivedMs, answeredMs: performance.now() - run.t0, inFlightAtArrival, maxInFlight: run.maxInFlight,
      connection: run.sockets.get(socket)!, connections: run.sockets.size,
    } satisfies SlowAnswer), ms)
    this.timers.add(timer)
    res.once('close', () => { // answered or abandoned: either way it no longer counts
      clearTimeout(timer)
      this.timers.delete(timer)
      run.inFlight--
    })
  }
}

/** Runs server-side experiments, at most `max` at once (429 beyond); each answers with what its `work` returned. */
export function experimentLimit(max: number): <T>(res: Response, work: (signal: AbortSignal) => Promise<T>) => Promise<void> {
  let running = 0
  return async (res, work) => {
    if (running >= max)
      throw new HttpError(429, `at most ${max} runs at once; try again in a moment`, { 'Retry-After': '1' })
    running++
    try {
      const out = await work(abortOnClose(res))
      if (!res.headersSent)
        res.json(out)
    }
    finally {
      running--
    }
  }
}

/** Aborted when the client goes away before the run is over. */
function abortOnClose(res: Response): AbortSignal {
  const controller = new AbortController()
  res.once('close', () => controller.abort())
  return controller.signal
}
