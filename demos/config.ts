/** Configuration of the demo server, read once from the environment. Documented in the README. */
export interface DemoConfig {
  /** Interface to bind. Default `127.0.0.1` (env `HOST`): the demos are not meant for the network. */
  host: string
  /** TCP port. Default `3031` (env `DEMO_PORT`); `0` picks a free port (tests). */
  port: number
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
}

export const DEFAULT_DEMO_PORT = 3031
export const DEFAULT_DECK_PORT = 3030

/** Reads the configuration from `env` (default: `process.env`), filling in the defaults. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const port = Number(env.DEMO_PORT ?? DEFAULT_DEMO_PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`DEMO_PORT must be a port number (0-65535), got "${env.DEMO_PORT}"`)
  const deckPort = Number(env.DECK_PORT ?? DEFAULT_DECK_PORT)
  const origins = env.DECK_ORIGINS
    ? env.DECK_ORIGINS.split(',').map(s => s.trim()).filter(Boolean)
    : [`http://localhost:${deckPort}`, `http://127.0.0.1:${deckPort}`]
  if (origins.includes('*'))
    throw new Error('DECK_ORIGINS must list origins; "*" is not allowed')
  return {
    host: env.HOST ?? '127.0.0.1',
    port,
    allowedOrigins: origins,
    amqpUrl: env.AMQP_URL ?? 'amqp://localhost',
    managementUrl: env.AMQP_MANAGEMENT_URL ?? 'http://localhost:15672',
    bodyLimit: env.BODY_LIMIT ?? '16kb',
  }
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
