// What `GET /health` answers: the demo server, its broker, what it holds open.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** What `GET /health` answers. */
export interface Health {
  status: 'ok'
  uptimeMs: number
  /**
   * Whether the AMQP connection is up right now; `blocked`: up, but RabbitMQ blocks it
   * (connection.blocked, a memory or disk alarm) and publishes are refused until it clears.
   */
  broker: 'up' | 'down' | 'blocked'
  /** Only while `blocked`: why, e.g. "memory or disk alarm (low on memory)" (the broker's reason in brackets). */
  brokerReason?: string
  /** The broker URL, password hidden. */
  amqpUrl: string
  /** Responses held open: long polls, event streams, blocking calls. */
  openConnections: number
  /** Audience mode: off, or on with the phones connected. */
  audience: { on: false } | { on: true, devices: number, joinUrl: string | null }
  /**
   * The jobs database (JOBS_DB): `failing` while it cannot be written (another process holds its
   * lock, disk full): jobs go on in memory, new ones get a 503, their rows are written once it can be.
   */
  jobsDb: 'ok' | 'failing'
}

/**
 * The one command that starts the RabbitMQ installed on this machine (as root, or with sudo;
 * it works with or without an init system). `npm start` prints it when the broker is not
 * reachable, and the deck's broker slides show it when `/health` says `broker` is not `up`.
 */
export const BROKER_START_COMMAND = 'rabbitmq-server -detached'
