import { networkInterfaces } from 'node:os'
import { fileURLToPath } from 'node:url'

/** Configuration of the demo server, read once from the environment. Documented in docs/configuration.md. */
export interface DemoConfig {
  /** Interface to bind. Default `127.0.0.1` (env `HOST`): the demos are not meant for the network. */
  host: string
  /** TCP port. Default `3031` (env `DEMO_PORT`); `0` picks a free port (tests). */
  port: number
  /** The deck's port, for `npm start` and the default CORS origins. Default `3030` (env `DECK_PORT`). */
  deckPort: number
  /**
   * Origins allowed by CORS. Default the deck on port 3030 of localhost and 127.0.0.1
   * (env `DECK_ORIGINS`, comma-separated). Never `*`.
   */
  allowedOrigins: string[]
  /** AMQP broker URL. Default `amqp://localhost` (env `AMQP_URL`). */
  amqpUrl: string
  /** RabbitMQ management HTTP API. Default `http://localhost:15672` (env `AMQP_MANAGEMENT_URL`). */
  managementUrl: string
  /** Largest accepted request body. Default `16kb` (env `BODY_LIMIT`). */
  bodyLimit: string
  /** Most jobs kept at once; the oldest finished ones are evicted first. Default 1000 (env `JOBS_MAX`). */
  jobsMax: number
  /**
   * SQLite file the jobs are kept in, so a restarted server still knows them (and an EventSource
   * that reconnects gets what it missed). Default `.cache/jobs.sqlite` in the project (env
   * `JOBS_DB`); `:memory:` keeps nothing.
   */
  jobsDb: string
  /** How long a finished job stays readable, ms. Default 600000, ten minutes (env `JOBS_TTL_MS`). */
  jobsTtlMs: number
  /** Event streams open at once (every SSE route together); past it a 429. Default 10000 (env `SSE_MAX_CLIENTS`). */
  sseMaxClients: number
  /** Comment heartbeat on open event streams, ms. Default 10000 (env `SSE_HEARTBEAT_MS`). */
  sseHeartbeatMs: number
  /** The work queue's name. Default `wire.jobs` (env `WORK_QUEUE`; test files each use their own). */
  workQueue: string
  /** Jobs that may wait in the work queue; a POST that would pass it gets a 429. Default 1000 (env `WORK_QUEUE_MAX`). */
  workQueueMax: number
  /**
   * Pub/sub subscribers at once, each a queue and an AMQP channel; past it a 429. Default 1000
   * (env `PUBSUB_MAX_SUBSCRIBERS`), well under RabbitMQ's 2047 channels per connection.
   */
  pubsubMaxSubscribers: number
  /**
   * How long a subscriber's queue outlives its client, ms: one that reconnects with `Last-Event-ID`
   * within it gets what was published meanwhile. Default 30000 (env `PUBSUB_RESUME_MS`).
   */
  pubsubResumeMs: number
  /**
   * Hard deadline of one capacity run (demos/capacity/), ms: the run is stopped, its helper process
   * killed and its connections closed when it is not over by then; the helper exits by itself at the
   * same deadline. Default 30000 (env `CAPACITY_DEADLINE_MS`), 100 to 30000: a held long poll waits
   * 30 s at most.
   */
  capacityDeadlineMs: number
  /**
   * Audience mode (demos/audience/): the room's phones join as clients. Off by default; `AUDIENCE=1`
   * (or `npm start -- --audience`) turns it on.
   */
  audience: boolean
  /**
   * Interface of the audience listener, the only one reachable from the room. Default: this
   * machine's first non-internal IPv4 address, else 127.0.0.1 (env `AUDIENCE_HOST`; tests use 127.0.0.1).
   */
  audienceHost: string
  /** Port of the audience listener. Default 3032 (env `AUDIENCE_PORT`; `0` picks a free port). */
  audiencePort: number
  /** Phones at once (429 above). Default 500 (env `AUDIENCE_MAX_DEVICES`). */
  audienceMaxDevices: number
}

export const DEFAULT_DEMO_PORT = 3031
export const DEFAULT_DECK_PORT = 3030

/** A whole number from `env[name]` (default `fallback`), within min..max; otherwise an Error naming the variable. */
function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '')
    return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`)
  return n
}

/**
 * Reads the configuration from `env` (default: `process.env`), filling in the defaults.
 * Throws an Error naming the variable when a value is out of range (the entry point prints it, exit 2).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const port = integer(env, 'DEMO_PORT', DEFAULT_DEMO_PORT, 0, 65535)
  const deckPort = integer(env, 'DECK_PORT', DEFAULT_DECK_PORT, 1, 65535)
  const origins = env.DECK_ORIGINS
    ? env.DECK_ORIGINS.split(',').map(s => s.trim()).filter(Boolean)
    : [`http://localhost:${deckPort}`, `http://127.0.0.1:${deckPort}`]
  if (origins.includes('*'))
    throw new Error('DECK_ORIGINS must list origins; "*" is not allowed')
  return {
    host: env.HOST ?? '127.0.0.1',
    port,
    deckPort,
    allowedOrigins: origins,
    amqpUrl: env.AMQP_URL ?? 'amqp://localhost',
    managementUrl: env.AMQP_MANAGEMENT_URL ?? 'http://localhost:15672',
    bodyLimit: env.BODY_LIMIT ?? '16kb',
    jobsMax: integer(env, 'JOBS_MAX', 1000, 1, 1_000_000),
    jobsDb: env.JOBS_DB || fileURLToPath(new URL('../../.cache/jobs.sqlite', import.meta.url)),
    jobsTtlMs: integer(env, 'JOBS_TTL_MS', 10 * 60_000, 1, 7 * 24 * 3_600_000),
    sseMaxClients: integer(env, 'SSE_MAX_CLIENTS', 10_000, 1, 1_000_000),
    sseHeartbeatMs: integer(env, 'SSE_HEARTBEAT_MS', 10_000, 10, 3_600_000),
    workQueue: env.WORK_QUEUE || 'wire.jobs',
    workQueueMax: integer(env, 'WORK_QUEUE_MAX', 1000, 1, 1_000_000),
    pubsubMaxSubscribers: integer(env, 'PUBSUB_MAX_SUBSCRIBERS', 1000, 1, 2000),
    pubsubResumeMs: integer(env, 'PUBSUB_RESUME_MS', 30_000, 100, 3_600_000),
    capacityDeadlineMs: integer(env, 'CAPACITY_DEADLINE_MS', 30_000, 100, 30_000),
    audience: ['1', 'true', 'on', 'yes'].includes((env.AUDIENCE ?? '').toLowerCase()),
    audienceHost: env.AUDIENCE_HOST || lanAddress(),
    audiencePort: integer(env, 'AUDIENCE_PORT', 3032, 0, 65535),
    audienceMaxDevices: integer(env, 'AUDIENCE_MAX_DEVICES', 500, 1, 10_000),
  }
}

/** This machine's first non-internal IPv4 address (what phones on the same Wi-Fi reach), else 127.0.0.1. */
export function lanAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal)
        return a.address
    }
  }
  return '127.0.0.1'
}

/**
 * How the demo server process is started (`npm run demos`, `npm start`, the tests' and the bench's
 * child processes): `node <DEMO_NODE_ARGS>`, from the repository root. `--max-semi-space-size=8`
 * (MB) caps V8's young generation: on a machine with plenty of RAM it otherwise grows to 64 MB
 * per semi-space during a burst of thousands of connects and stays resident, which the bench saw
 * as 26 KB of RSS per held connection at 10,000 (18 KB with the cap; the live heap is ~10 KB).
 * `package.json`'s `demos` script spells the same flags out.
 */
export const DEMO_NODE_ARGS: readonly string[] = ['--max-semi-space-size=8', '--import', 'tsx', 'demos/main.ts']

/**
 * Why this Node cannot run the project (package.json "engines": ^22.22.0 || >=24.11.0), as one line
 * saying how to get a supported one; undefined when it can. `npm install` checks the same (engine-strict),
 * but a machine whose node_modules came from elsewhere would otherwise start and half work.
 */
export function unsupportedNode(version = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major >= 25 || (major === 24 && minor >= 11) || (major === 22 && minor >= 22))
    return undefined
  return `Node ${version} is not supported: use Node 24 LTS (or 22.22+). In this shell: source scripts/use-node.sh`
}

/**
 * For an entry point (`npm start`, `npm run demos`), first thing: on an unsupported Node, one line
 * tagged `[tag]` and exit 1; and output piped into something that closed (`npm start | head`) is
 * dropped quietly instead of crashing the process with EPIPE.
 */
export function startEntryPoint(tag: string): void {
  const badNode = unsupportedNode()
  if (badNode) {
    console.error(`[${tag}] ${badNode}`)
    process.exit(1)
  }
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', () => {})
  // Node 22 still calls node:sqlite (the job journal) experimental; Node 24 does not. Nothing for a
  // user to act on, and it would be the first line of every start: drop that one warning only.
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning instanceof Error ? warning.message : warning).startsWith('SQLite is an experimental feature'))
      emitWarning(warning, ...rest)
  }) as typeof process.emitWarning
}

/** The URL with any password hidden, for logs and /health. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password)
      u.password = '***'
    return u.toString()
  }
  catch {
    return url
  }
}
