// `npm start`: the deck and the demo server together, one health line, one Ctrl-C stops both.
// The deck is the built one (scripts/deck-build.ts: `slidev build`, redone only when the slides
// changed), so it is on screen at once and every slide change is instant; `npm start -- --dev`
// serves it from the Slidev dev server instead, which compiles each slide on first view.
import type { ChildProcess } from 'node:child_process'
import type { DeckBuild } from './deck-build.ts'
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { execFileSync } from 'node:child_process'
import { relative } from 'node:path'
import { parseArgs } from 'node:util'
import { DEMO_NODE_ARGS, loadConfig, redactUrl, startEntryPoint } from '../demos/platform/config.ts'
import { ensureDeckBuild, serveDeck } from './deck-build.ts'
import { BROKER_START_COMMAND } from '../wire/health.ts'

startEntryPoint('start')

let dev: boolean
let audience: boolean
try {
  ({ dev, audience } = parseArgs({ options: { dev: { type: 'boolean', default: false }, audience: { type: 'boolean', default: false } } }).values)
}
catch (err) {
  console.error(`[start] ${(err as Error).message}. Usage: npm start [-- --dev] [-- --audience]  (--dev: the Slidev dev server, live editing; --audience: the room's phones join as clients)`)
  process.exit(2)
}
// --audience is AUDIENCE=1 for the demo server (and loadConfig below).
if (audience)
  process.env.AUDIENCE = '1'

const config = loadConfig()
const deckPort = config.deckPort
const demoUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`
const deckUrl = `http://localhost:${deckPort}`
const started = performance.now()

// Something already on our ports (an earlier `npm start` still running?) would answer the health
// checks below and make this one look ready: say so and start nothing.
for (const [what, host, port, env] of [['demo server', config.host, config.port, 'DEMO_PORT'], ['deck', 'localhost', deckPort, 'DECK_PORT']] as const) {
  if (await portOpen(host === '0.0.0.0' ? '127.0.0.1' : host, port)) {
    console.error(`[start] port ${port} (the ${what}) is already in use: is another \`npm start\` running? Stop it, or set ${env}.`)
    process.exit(2)
  }
}

// Another demo server on the same jobs database would make ours refuse to start: say so, in its one line, and start nothing.
const { jobsDbInUse } = await import('../demos/jobs/journal.ts') // node:sqlite: after startEntryPoint's Node check
const jobsDbTaken = jobsDbInUse(config.jobsDb)
if (jobsDbTaken) {
  console.error(`[start] ${jobsDbTaken.message}`)
  process.exit(2)
}

const children: ChildProcess[] = []
// However this process ends (even an uncaught error), the children end with it.
process.on('exit', () => children.forEach(c => c.exitCode === null && c.kill('SIGTERM')))
function run(name: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['inherit', 'inherit', 'inherit'], env: { ...process.env, ...env } })
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`\n[start] ${name} exited (${signal ?? code}); stopping everything.`)
      void stop(code ?? 1)
    }
  })
  children.push(child)
  return child
}

let stopping = false
async function stop(code = 0): Promise<void> {
  if (stopping)
    return
  stopping = true
  for (const c of children) {
    if (c.exitCode === null)
      c.kill('SIGTERM')
  }
  await Promise.all(children.map(c => c.exitCode !== null ? undefined : new Promise(r => c.once('exit', r))))
  process.exit(code)
}
// Ctrl-C reaches the children too (same process group); we only wait for them.
process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))

/** Where the deck finds the demo server: VITE_DEMO_URL if set, else the demo server started here. */
const deckDemoUrl = process.env.VITE_DEMO_URL ?? demoUrl
run('demo server', [...DEMO_NODE_ARGS])
let build: DeckBuild | undefined
if (dev) {
  run('deck', ['node_modules/@slidev/cli/bin/slidev.mjs', '--port', String(deckPort)], { VITE_DEMO_URL: deckDemoUrl })
}
else {
  try {
    build = await ensureDeckBuild({
      onBuild: first => console.log(`[start] building the deck (${first ? 'no build yet' : 'its sources changed since the last build'}; 25-75 s on a busy 2-core laptop, less on a quiet one) ...`),
      track: child => children.push(child),
    })
    if (!stopping)
      await serveDeck(build.dir, { port: deckPort, demoUrl: deckDemoUrl })
  }
  catch (err) {
    if (!stopping) {
      console.error(`[start] the deck: ${(err as Error).message}\n[start] \`npm start -- --dev\` serves the slides from the dev server instead.`)
      await stop(1)
    }
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !stopping) {
    if (await check().catch(() => false))
      return true
    await new Promise(r => setTimeout(r, 200))
  }
  return false
}

function amqpReachable(url: string): Promise<boolean> {
  const u = new URL(url)
  return portOpen(u.hostname, Number(u.port || 5672))
}

/** Does something accept TCP connections on host:port (within 1 s)? */
function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

const demoUp = await waitFor(async () => (await fetch(`${demoUrl}/health`)).ok, 30_000)
const deckUp = await waitFor(async () => (await fetch(deckUrl)).ok, 60_000)
// The demo server connects to the broker in the background; if the port is open, give it a
// moment to log in, otherwise say at once how to start one.
const brokerPortOpen = await amqpReachable(config.amqpUrl)
let broker = 'down'
if (demoUp && brokerPortOpen) {
  await waitFor(async () => {
    const h = await (await fetch(`${demoUrl}/health`)).json() as { broker: string }
    broker = h.broker
    return broker === 'up' || broker === 'blocked' // blocked: connected, under a memory or disk alarm
  }, 5000)
}
// Audience mode: the join URL (the Join slide shows it as a QR code).
let audienceLine = 'off (npm start -- --audience: the room\'s phones join as clients)'
if (demoUp && config.audience) {
  const h = await (await fetch(`${demoUrl}/health`)).json().catch(() => null) as { audience?: { on: boolean, joinUrl?: string | null } } | null
  audienceLine = h?.audience?.joinUrl ? `on: phones join at ${h.audience.joinUrl} (same Wi-Fi; the Join slide has the QR code)` : 'on, but its listener is not up: see the errors above'
}
// The jobs database: named only when it cannot be written (another process holds its lock).
let jobsDbLine = ''
if (demoUp) {
  const h = await fetch(`${demoUrl}/health`).then(r => r.json()).catch(() => null) as { jobsDb?: string } | null
  if (h?.jobsDb === 'failing')
    jobsDbLine = `\n               jobs database ${config.jobsDb} cannot be written right now (see above): jobs run in memory, new ones get a 503 until it can`
}
const brokerHint = broker === 'up'
  ? `up at ${redactUrl(config.amqpUrl)}`
  : broker === 'blocked'
    ? `blocked (memory or disk alarm) at ${redactUrl(config.amqpUrl)}: publishes are refused until it clears (rabbitmq-diagnostics alarms)`
    : brokerPortOpen
    ? `port open at ${redactUrl(config.amqpUrl)} but the demo server could not log in (check AMQP_URL)`
    : `not reachable at ${redactUrl(config.amqpUrl)}: ${brokerStartHint()}; only the messaging chapters need it`

const served = !build
  ? 'the Slidev dev server: each slide compiles on first view; edits show at once'
  : `built in ${relative(process.cwd(), build.dir)}${build.built ? ` (rebuilt now, ${(build.buildMs / 1000).toFixed(1)} s)` : ' (up to date with the slides)'}; to edit slides live: npm run dev`
if (!stopping) {
  console.log(`
  wire-patterns ready in ${((performance.now() - started) / 1000).toFixed(1)} s
  deck         ${deckUp ? deckUrl : 'NOT UP'}   (presenter view: ${deckUrl}/presenter/)
               ${served}
  demo server  ${demoUp ? `${demoUrl}  (try: curl ${demoUrl}/health)` : 'NOT UP: see the errors above'}${jobsDbLine}
  RabbitMQ     ${brokerHint}
  audience     ${audienceLine}
  Ctrl-C stops everything.
`)
}

/** How to get a broker on this machine: start the installed one (the command the deck's broker slides show too), or install one. */
function brokerStartHint(): string {
  try {
    // Debian puts it in /usr/sbin, which a user's PATH often lacks.
    execFileSync('sh', ['-c', 'command -v rabbitmq-server || test -x /usr/sbin/rabbitmq-server'], { stdio: 'ignore' })
    return `start the installed one (as root, or with sudo): \`${BROKER_START_COMMAND}\``
  }
  catch {
    return '`apt-get install rabbitmq-server` as root (it starts itself), or `docker compose up -d rabbitmq`'
  }
}
