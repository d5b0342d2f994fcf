// Request/response on the wire: what `/echo` answers.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** What `/echo` answers with `Accept: application/json`. */
export interface EchoAnswer {
  /** Start line, headers as sent (case and order), blank line. */
  head: string
  body: string
  headBytes: number
  bodyBytes: number
  /** True when `body` holds the bytes exactly as they arrived. */
  exactBody: boolean
  /** Epoch ms. */
  receivedAt: number
}
