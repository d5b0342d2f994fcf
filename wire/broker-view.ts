// The broker view on the wire: what `GET /broker/topology` answers.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** One queue as the slide draws it. `unacked` is null when only AMQP could be asked. */
export interface QueueView {
  name: string
  durable: boolean
  exclusive: boolean
  autoDelete: boolean
  ready: number
  unacked: number | null
  consumers: number
}

export interface Topology {
  /** Where the picture came from: the management HTTP API, or AMQP alone (checkQueue). */
  source: 'management' | 'amqp'
  /** Link to the management UI (config.managementUrl), for the audience. */
  managementUrl: string
  exchanges: Array<{ name: string, type: string }>
  bindings: Array<{ exchange: string, queue: string, key: string }>
  queues: QueueView[]
}
