// Multiplexing and pooling on the wire: the runs the demo server makes and the slow requests the browser makes.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** One request of a server-side run, in ms since the run started (one clock: this process). */
export interface Span {
  i: number
  /** When the upstream received it: the start of its bar. */
  startMs: number
  /** When the whole answer was back. */
  endMs: number
  /** Time between being issued and reaching the server (waiting for a socket, connecting). */
  queuedMs: number
  /** Which TCP connection carried it (numbered by the upstream). */
  connection: number
  /** HTTP/2 stream id. */
  stream?: number
}

export interface RunReport {
  protocol: 'http/1.1' | 'h2'
  count: number
  /** Distinct TCP connections that carried the run's requests, counted by the upstream. */
  tcpConnections: number
  totalMs: number
  spans: Span[]
}

/** What `GET /multiplexing/slow` answers: when the request arrived, how many of its run were in flight, on which socket. */
export interface SlowAnswer {
  run: string
  /** ms since the run's first request arrived. */
  arrivedMs: number
  answeredMs: number
  inFlightAtArrival: number
  maxInFlight: number
  /** Which of the run's client sockets (1, 2, ...) carried it. */
  connection: number
  connections: number
}
