// The sidecar demo on the wire: what the order and stats routes answer.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** What `/sidecar/stats` and `/sidecar/mode` answer: counters reported by each process. */
export interface SidecarStats {
  sidecar: boolean
  /** The app (demos/sidecar/app.ts): orders served, calls it made upstream. */
  app: { pid: number, requests: number, upstreamCalls: number, failures: number }
  /** The sidecar (demos/sidecar/sidecar.ts), when deployed: attempts and retries, its last log lines. */
  proxy: null | { pid: number, requests: number, attempts: number, retries: number, log: string[] }
  /** The flaky price service, as it saw the traffic. */
  upstream: { failures: number, attempts: number, failed: number, traced: number }
}

/** What `POST /sidecar/order` answers: the app's answer, and the attempts the price service saw meanwhile. */
export interface OrderAnswer {
  status: number
  body: object
  sidecar: boolean
  attempts: Array<{ n: number, status: number, traceparent?: string, atMs: number }>
}
