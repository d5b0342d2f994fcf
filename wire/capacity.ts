// The capacity demo on the wire: run modes and sizes, progress while a run holds its clients, and its result.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** How the held clients wait: an event stream each (`GET /jobs/:id/events`), or a pending long poll each (`GET /jobs/:id?wait=30&since=v`). */
export const CAPACITY_MODES = ['sse', 'long-poll'] as const
export type CapacityMode = typeof CAPACITY_MODES[number]
/** The numbers of held connections a run may open. */
export const CAPACITY_SIZES = [1000, 10_000] as const
export type CapacitySize = typeof CAPACITY_SIZES[number]

/** Where a run is: the helper starting, clients connecting, all held (memory measured), the change on its way, everything being closed. */
export type CapacityPhase = 'starting' | 'opening' | 'holding' | 'telling' | 'closing'

/** What `GET /capacity/runs/current` answers while a run is in progress. */
export interface CapacityProgress {
  running: true
  mode: CapacityMode
  connections: number
  phase: CapacityPhase
  /**
   * Clients the helper has connected, as it last reported (after each batch of 250): the server's
   * `held`, counted now, can be a batch ahead of it.
   */
  opened: number
  /** Responses the demo server holds open for this run right now (`/health` openConnections less the baseline). */
  held: number
  /** Since the run started, ms. */
  elapsedMs: number
}

/** What `POST /capacity/runs` answers: one run's numbers, for this machine, now. */
export interface CapacityResult {
  mode: CapacityMode
  /** Connections asked for. */
  connections: number
  /** Responses the demo server held open at once for this run. */
  held: number
  /** Clients that could not connect or were refused. */
  failed: number
  /** Demo server's resident set size before the clients connected and with all of them held, KB. */
  rssBeforeKb: number
  rssHeldKb: number
  /** (rssHeldKb - rssBeforeKb) / held, KB: what one held connection costs the server in memory. Noisy at 1,000 (the garbage collector moves it too). */
  rssPerConnectionKb: number
  /** From the first connect to the server holding them all, ms. */
  openMs: number
  /** Epoch ms: the server's stamp of the one change (the job's `finishedAt`). */
  changedAt: number
  /** From that stamp to the first / the last client receiving it, as the helper measured (same clock), ms. */
  firstToldMs: number | null
  tellAllMs: number | null
  /** Clients told of the change. */
  told: number
  /** What short polling would cost at the same number of clients: computed, `connections / interval`, requests per second. */
  shortPolling: Array<{ intervalMs: number, requestsPerSecond: number }>
  /** `/health` openConnections before the run and after it (once the helper was gone). */
  openConnections: { before: number, after: number }
  /** The helper process, gone when this is sent. */
  helper: { pid: number, exitCode: number | null }
  /** The whole run, helper start to the last connection released, ms. */
  runMs: number
}
