/**
 * A real, throwaway RabbitMQ broker for the tests (test/global-setup.ts) and the bench
 * (bench/rabbitmq.ts); no mocks, ever.
 *
 * `provisionBroker()` picks, in order: an external broker named by `AMQP_URL`; a private node
 * of a locally installed `rabbitmq-server`; the repo's `docker compose` service; else it throws
 * saying how to get one. `stopBroker()` / `startBroker()` take the broker down and bring it back
 * for fault tests, and work from any process that holds the (JSON-serialisable) `BrokerInfo`.
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { connect as tcpConnect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { connect } from 'amqplib'

export interface BrokerInfo {
  kind: 'env' | 'local' | 'docker'
  /** Includes credentials, e.g. `amqp://guest:guest@127.0.0.1:25672`. */
  amqpUrl: string
  /** Management HTTP API base, without credentials (guest/guest for 'local' and 'docker'). */
  managementUrl?: string
  // What another process needs to control the broker:
  /** 'local': the Erlang node name, e.g. `wp-test-1234-ab12@localhost`. */
  nodeName?: string
  /** Extra environment for the broker's tools ('local': RABBITMQ_*, HOME, ...; 'docker': COMPOSE_PROJECT_NAME). */
  env?: Record<string, string>
  /** 'docker': the compose file. */
  composeFile?: string
  /** 'local': directory of the real `rabbitmq-server` / `rabbitmqctl` scripts. */
  binDir?: string
  /** 'local': the node's private temp dir (config, cookie, mnesia, logs); deleted by `stop()`. */
  dataDir?: string
}

/** How {@link stopBroker} takes the broker down. */
export interface StopOptions {
  /**
   * 'stop' (default): orderly; clients get a connection.close (320 CONNECTION_FORCED).
   * 'kill': a crash; the OS process dies (SIGKILL) and clients just see the socket drop.
   */
  mode?: 'stop' | 'kill'
}

// A cold boot takes 8-15 s on a busy 2-vCPU box (most of it loading modules for boot-step
// discovery), so 30 s would be flaky on CI.
const START_TIMEOUT_MS = 60_000
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const COMPOSE_PROJECT = 'wire-patterns-test'
const DOCKER_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672'
const DOCKER_MANAGEMENT_URL = 'http://127.0.0.1:15672'

/**
 * Resolves once `url` accepts an AMQP connection (opened and closed again), retrying until
 * `timeoutMs` elapses; then rejects with the last connection error.
 */
export async function waitForAmqp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const conn = await connect(url, { timeout: Math.min(2000, Math.max(250, deadline - Date.now())) })
      await conn.close()
      return
    }
    catch (err) {
      if (Date.now() >= deadline)
        throw new Error(`AMQP at ${redact(url)} did not accept a connection within ${timeoutMs} ms: ${errorText(err)}`)
    }
    await sleep(200)
  }
}

/**
 * Provisions a broker for this test run; see the module comment for the order of choice.
 * Resolves once the broker accepts AMQP connections. `stop()` tears down what was started here
 * (nothing for 'env'): for 'local' the node is killed and its temp dir deleted; for 'docker' the
 * compose project is removed with its volumes.
 */
export async function provisionBroker(): Promise<{ info: BrokerInfo, stop: () => Promise<void> }> {
  const external = process.env.AMQP_URL
  if (external) {
    try {
      await waitForAmqp(external, 10_000)
    }
    catch (err) {
      throw new Error(`AMQP_URL is set but that broker does not accept AMQP connections (${errorText(err)}). Start it, or unset AMQP_URL to let the suite start a throwaway broker.`)
    }
    const info: BrokerInfo = { kind: 'env', amqpUrl: external }
    if (process.env.AMQP_MANAGEMENT_URL)
      info.managementUrl = process.env.AMQP_MANAGEMENT_URL
    return { info, stop: async () => {} }
  }

  const binDir = findRabbitBinDir()
  if (binDir)
    return provisionLocal(binDir)

  if (await dockerAnswers())
    return provisionDocker()

  throw new Error([
    'No RabbitMQ broker for the tests. Any one of these will do:',
    '  - install RabbitMQ locally: `apt-get install rabbitmq-server` (the suite then runs its own throwaway node; the system service is not used)',
    '  - start a Docker engine (the suite then runs `docker compose up -d rabbitmq` from docker-compose.yml itself)',
    '  - run a broker yourself, e.g. `docker compose up -d rabbitmq`, and set AMQP_URL=amqp://guest:guest@localhost:5672',
  ].join('\n'))
}

/**
 * Makes the broker unreachable for a fault test: open connections are dropped and the AMQP port
 * refuses new ones by the time this resolves. Data survives for {@link startBroker}.
 * 'local' 'stop' stops the RabbitMQ application inside the still-running node (like
 * `rabbitmqctl stop_app`); 'kill' SIGKILLs the node. 'docker': `docker compose stop` / `kill`.
 * Throws for 'env': the suite must own the broker it breaks.
 */
export async function stopBroker(info: BrokerInfo, options: StopOptions = {}): Promise<void> {
  const mode = options.mode ?? 'stop'
  if (info.kind === 'env')
    throw envKindError()
  if (info.kind === 'docker') {
    await mustRun('docker', composeArgs(info, mode === 'kill' ? ['kill', 'rabbitmq'] : ['stop', 'rabbitmq']), dockerEnv(info), 60_000)
  }
  else if (mode === 'kill') {
    await killNode(local(info))
  }
  else {
    // Like `rabbitmqctl stop_app` (= rabbit:stop()), but first removes the management agent's
    // event handler: in 3.10 its terminate/2 calls application:set_env while the application
    // controller is busy stopping `rabbit`, which stalls every stop for a 5 s call timeout.
    // stop_app with it: ~6 s; this: ~1 s. start_app re-installs the handler.
    const expr = 'catch gen_event:delete_handler(rabbit_event, rabbit_mgmt_db_handler, stop), rabbit:stop().'
    await mustRun(ctlPath(local(info)), ['-n', local(info).nodeName, 'eval', expr], localEnv(info), 60_000)
  }
  await waitRefused(amqpPort(info), 15_000)
}

/**
 * Freezes the broker (`'freeze'`: SIGSTOP to the local node's process group, `docker pause`)
 * or lets it go on (`'thaw'`: SIGCONT, `docker unpause`). Frozen, its sockets stay open and
 * nothing answers, as with a broker stuck in a long GC pause or a suspended VM. Throws for 'env'.
 */
export async function freezeBroker(info: BrokerInfo, action: 'freeze' | 'thaw'): Promise<void> {
  if (info.kind === 'env')
    throw envKindError()
  if (info.kind === 'docker') {
    await mustRun('docker', composeArgs(info, [action === 'freeze' ? 'pause' : 'unpause', 'rabbitmq']), dockerEnv(info), 60_000)
    return
  }
  const pgid = readPgid(local(info).dataDir)
  if (!pgid || !trySignal(-pgid, action === 'freeze' ? 'SIGSTOP' : 'SIGCONT'))
    throw new Error(`no running broker process group to ${action} (${local(info).dataDir}/pgid)`)
}

/**
 * Runs `rabbitmqctl <args>` against the suite's broker ('local': the private node; 'docker': inside
 * the compose service) and resolves with its output; rejects if it exits non-zero or takes longer
 * than `timeoutMs` (default 60 s). E.g. `['set_vm_memory_high_watermark', '0.0001']` raises a memory
 * alarm, `['eval', 'application:get_env(rabbit, consumer_timeout).']` reads a setting. Throws for 'env'.
 */
export async function rabbitmqctl(info: BrokerInfo, args: string[], timeoutMs = 60_000): Promise<string> {
  if (info.kind === 'env')
    throw envKindError()
  const [cmd, argv, env] = info.kind === 'docker'
    ? ['docker', composeArgs(info, ['exec', '-T', 'rabbitmq', 'rabbitmqctl', ...args]), dockerEnv(info)] as const
    : [ctlPath(local(info)), ['-n', local(info).nodeName, ...args], localEnv(info)] as const
  const r = await run(cmd, [...argv], env, timeoutMs)
  if (r.code !== 0)
    throw new Error(`\`rabbitmqctl ${args.join(' ')}\` failed (exit ${r.code}):\n${r.output}`)
  return r.output
}

/**
 * Brings a broker taken down by {@link stopBroker} back on the same ports with the same data.
 * Resolves when AMQP accepts connections. Throws for 'env'.
 */
export async function startBroker(info: BrokerInfo): Promise<void> {
  if (info.kind === 'env')
    throw envKindError()
  if (info.kind === 'docker') {
    await mustRun('docker', composeArgs(info, ['start', 'rabbitmq']), dockerEnv(info), 60_000)
    await waitForAmqp(info.amqpUrl, START_TIMEOUT_MS)
    return
  }
  const node = local(info)
  // A node whose app was stopped still listens on its distribution port; a killed one does not.
  if (await tcpAccepts(Number(node.env.RABBITMQ_DIST_PORT))) {
    await mustRun(ctlPath(node), ['-n', node.nodeName, 'start_app'], localEnv(info), START_TIMEOUT_MS)
    await waitForAmqp(info.amqpUrl, START_TIMEOUT_MS)
  }
  else {
    await bootNode(node)
  }
}

// ---------------------------------------------------------------------------------------------
// 'local': a private node of the installed rabbitmq-server

type LocalInfo = BrokerInfo & Required<Pick<BrokerInfo, 'nodeName' | 'env' | 'binDir' | 'dataDir'>>

function local(info: BrokerInfo): LocalInfo {
  if (!info.nodeName || !info.env || !info.binDir || !info.dataDir)
    throw new Error(`BrokerInfo of kind '${info.kind}' lacks what is needed to control a local node`)
  return info as LocalInfo
}

/**
 * The directory of the *real* server scripts. Debian's /usr/sbin/rabbitmq-server and rabbitmqctl
 * are one wrapper that `cd /var/lib/rabbitmq` and, as root, `su rabbitmq` (so the node cannot
 * write root-owned temp dirs and uses the system Erlang cookie), and refuse to run for any other
 * user. /usr/lib/rabbitmq/bin runs as whoever calls it, with our HOME and RABBITMQ_* env.
 */
function findRabbitBinDir(): string | undefined {
  const dirs = ['/usr/lib/rabbitmq/bin', ...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    const server = join(dir, 'rabbitmq-server')
    if (!dir || !existsSync(server) || !existsSync(join(dir, 'rabbitmqctl')))
      continue
    if (readFileSync(server, 'utf8').includes('su rabbitmq'))
      continue // the Debian wrapper (only reached if /usr/lib/rabbitmq/bin is missing)
    return dirname(realpathSync(server))
  }
  return undefined
}

async function provisionLocal(binDir: string): Promise<{ info: BrokerInfo, stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wp-rabbitmq-'))
  for (const sub of ['home', 'log', 'mnesia', 'conf.d'])
    mkdirSync(join(dataDir, sub))
  // Written up front: the server and the first rabbitmqctl would otherwise race to create it.
  writeFileSync(join(dataDir, 'home', '.erlang.cookie'), randomCookie(), { mode: 0o400 })
  const [amqp, management, dist] = await freePorts(3)
  writeFileSync(join(dataDir, 'rabbitmq.conf'), [
    `management.tcp.ip = 127.0.0.1`,
    `management.tcp.port = ${management}`,
    'log.console = false', // the log file is enough; stdout/stderr go to log/startup.log
    '',
  ].join('\n'))
  writeFileSync(join(dataDir, 'enabled_plugins'), '[rabbitmq_management].\n')
  writeFileSync(join(dataDir, 'rabbitmq-env.conf'), '')

  const nodeName = `wp-test-${process.pid}-${Math.random().toString(36).slice(2, 6)}@localhost`
  const env: Record<string, string> = {
    HOME: join(dataDir, 'home'), // Erlang cookie for the node and rabbitmqctl alike
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqp),
    RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    RABBITMQ_MNESIA_BASE: join(dataDir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dataDir, 'log'),
    RABBITMQ_PID_FILE: join(dataDir, 'rabbitmq.pid'),
    RABBITMQ_CONFIG_FILE: join(dataDir, 'rabbitmq.conf'),
    // Keep /etc/rabbitmq out of it: its env file, conf.d/*.conf and advanced.config.
    RABBITMQ_CONF_ENV_FILE: join(dataDir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILES: join(dataDir, 'conf.d'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dataDir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dataDir, 'enabled_plugins'),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(dataDir, 'plugins-expand'),
    ERL_CRASH_DUMP: join(dataDir, 'log', 'erl_crash.dump'), // default is the cwd
  }
  const info: LocalInfo = {
    kind: 'local',
    amqpUrl: `amqp://guest:guest@127.0.0.1:${amqp}`, // guest may log in from loopback only
    managementUrl: `http://127.0.0.1:${management}`,
    nodeName,
    env,
    binDir,
    dataDir,
  }

  // Never leave a node behind: kill it on a normal exit of this process, and from a detached
  // watchdog if this process dies without running 'exit' handlers (Ctrl-C, SIGKILL, crash).
  const onExit = (): void => {
    killGroupSync(dataDir)
    rmSync(dataDir, { recursive: true, force: true })
  }
  process.on('exit', onExit)
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'wp-rabbitmq-watchdog', String(process.pid), dataDir], { detached: true, stdio: 'ignore' })
  watchdog.unref()

  const stop = async (): Promise<void> => {
    process.off('exit', onExit)
    await killNode(info)
    rmSync(dataDir, { recursive: true, force: true })
    if (watchdog.pid)
      trySignal(watchdog.pid, 'SIGKILL')
  }
  try {
    await bootNode(info)
  }
  catch (err) {
    await stop()
    throw err
  }
  return { info, stop }
}

/** $1: pid to watch, $2: the node's data dir (holds the pgid of the running node). */
const WATCHDOG = `
while kill -0 "$1" 2>/dev/null; do sleep 1; done
[ -f "$2/pgid" ] && kill -9 -"$(cat "$2/pgid")" 2>/dev/null
rm -rf "$2"
`

/**
 * Cold-starts the node and resolves once it has booted and AMQP accepts connections.
 * Runs `rabbitmq-server` in the foreground (not `-detached`, which discards stdout/stderr, where
 * errors before logging is configured go) as the leader of its own process group, so the node
 * and its helpers can be killed together: the group id is kept in `<dataDir>/pgid`.
 */
async function bootNode(info: LocalInfo): Promise<void> {
  const startupLog = join(info.dataDir, 'log', 'startup.log')
  const fd = openSync(startupLog, 'a')
  const server = spawn(join(info.binDir, 'rabbitmq-server'), [], { cwd: info.dataDir, env: localEnv(info), detached: true, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  let exited: string | undefined
  server.once('error', (err) => { exited = `could not run rabbitmq-server: ${err.message}` })
  server.once('exit', (code, signal) => { exited = `rabbitmq-server exited (code ${code}, signal ${signal})` })
  server.unref()
  if (server.pid)
    writeFileSync(join(info.dataDir, 'pgid'), String(server.pid))

  const deadline = Date.now() + START_TIMEOUT_MS
  const fail = async (why: string): Promise<never> => {
    await killNode(info)
    throw new Error(`RabbitMQ node ${info.nodeName} did not start: ${why}\n${logTail(info)}`)
  }
  // await_startup fails at once ("node not running at all") until the node has registered with
  // epmd, a few seconds in; after that it blocks until boot completes.
  for (;;) {
    await sleep(500)
    if (exited)
      return fail(exited)
    const left = deadline - Date.now()
    if (left <= 0)
      return fail(`not booted after ${START_TIMEOUT_MS} ms`)
    const r = await run(ctlPath(info), ['-n', info.nodeName, 'await_startup', '--timeout', String(Math.ceil(left / 1000))], localEnv(info), left + 5000)
    if (r.code === 0)
      break
  }
  try {
    await waitForAmqp(info.amqpUrl, Math.max(5000, deadline - Date.now()))
  }
  catch (err) {
    return fail(errorText(err))
  }
}

/**
 * SIGKILLs the node's process group; resolves once its AMQP and distribution ports refuse.
 * (Ports, not pids: here PID 1 reaps orphans lazily, so a dead beam lingers as a zombie.)
 */
async function killNode(info: LocalInfo): Promise<void> {
  killGroupSync(info.dataDir)
  await waitRefused(amqpPort(info), 5000)
  await waitRefused(Number(info.env.RABBITMQ_DIST_PORT), 5000)
}

function readPgid(dataDir: string): number | undefined {
  try {
    const pgid = Number(readFileSync(join(dataDir, 'pgid'), 'utf8'))
    return pgid > 1 ? pgid : undefined
  }
  catch {
    return undefined
  }
}

function killGroupSync(dataDir: string): void {
  const pgid = readPgid(dataDir)
  if (pgid)
    trySignal(-pgid, 'SIGKILL')
}

/** process.kill that ignores "no such process". */
function trySignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal)
    return true
  }
  catch {
    return false
  }
}

function ctlPath(info: LocalInfo): string {
  return join(info.binDir, 'rabbitmqctl')
}

/** Our environment minus inherited RABBITMQ_* / ERL_* settings, plus the node's own. */
function localEnv(info: BrokerInfo): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('RABBITMQ_') && !key.startsWith('ERL_'))
      env[key] = value
  }
  return { ...env, ...info.env }
}

/** Boot errors land in startup.log (before logging is set up: the cause sits above ~50 lines of crash report) or the node's log. */
function logTail(info: LocalInfo): string {
  const files: Array<[string, number]> = [[join(info.dataDir, 'log', 'startup.log'), 100], [join(info.dataDir, 'log', `${info.nodeName}.log`), 40]]
  return files.map(([file, lines]) => {
    const text = existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(missing)'
    return `--- tail of ${file} ---\n${text}`
  }).join('\n')
}

/** Whoever has the cookie can run code on the node, so it is unguessable (and the dir is 0700). */
function randomCookie(): string {
  return randomBytes(16).toString('hex').toUpperCase()
}

/**
 * `count` distinct ports free on 127.0.0.1, drawn from 20000-32767: below Linux's ephemeral
 * range, so a client socket cannot grab one while the node is down for a fault test, and clear
 * of 35672-35682, which rabbitmqctl uses for its own distribution port.
 */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = []
  while (ports.length < count) {
    const port = 20000 + Math.floor(Math.random() * 12768)
    if (!ports.includes(port) && await canListen(port))
      ports.push(port)
  }
  return ports
}

function canListen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const server = createServer()
    server.once('error', () => res(false))
    server.listen(port, '127.0.0.1', () => server.close(() => res(true)))
  })
}

// ---------------------------------------------------------------------------------------------
// 'docker': the repo's compose service

async function dockerAnswers(): Promise<boolean> {
  return (await run('docker', ['info'], process.env, 15_000)).code === 0
}

async function provisionDocker(): Promise<{ info: BrokerInfo, stop: () => Promise<void> }> {
  const info: BrokerInfo = {
    kind: 'docker',
    amqpUrl: DOCKER_AMQP_URL,
    managementUrl: DOCKER_MANAGEMENT_URL,
    composeFile: join(REPO_ROOT, 'docker-compose.yml'),
    // A project of its own, so teardown cannot remove a developer's `docker compose up` broker.
    env: { COMPOSE_PROJECT_NAME: COMPOSE_PROJECT },
  }
  const stop = async (): Promise<void> => {
    await run('docker', composeArgs(info, ['down', '--volumes', '--remove-orphans']), dockerEnv(info), 120_000)
  }
  try {
    // --wait: until the compose healthcheck (AMQP port connectivity) passes; may pull the image.
    await mustRun('docker', composeArgs(info, ['up', '--detach', '--wait', 'rabbitmq']), dockerEnv(info), 300_000)
    await waitForAmqp(info.amqpUrl, START_TIMEOUT_MS)
  }
  catch (err) {
    await stop()
    throw err
  }
  return { info, stop }
}

function composeArgs(info: BrokerInfo, args: string[]): string[] {
  return ['compose', '--file', info.composeFile ?? join(REPO_ROOT, 'docker-compose.yml'), ...args]
}

function dockerEnv(info: BrokerInfo): NodeJS.ProcessEnv {
  return { ...process.env, ...info.env }
}

// ---------------------------------------------------------------------------------------------
// shared helpers

interface RunResult { code: number, output: string }

/** Runs a command to completion (killed after `timeoutMs`); never rejects. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((res) => {
    execFile(cmd, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      res({ code, output: `${stdout}${stderr}`.trim() || (err?.message ?? '') })
    })
  })
}

async function mustRun(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  const r = await run(cmd, args, env, timeoutMs)
  if (r.code !== 0)
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed (exit ${r.code}):\n${r.output}`)
}

function amqpPort(info: BrokerInfo): number {
  const url = new URL(info.amqpUrl)
  return Number(url.port || (url.protocol === 'amqps:' ? 5671 : 5672))
}

/** True if something accepts TCP connections on 127.0.0.1:port. */
function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = tcpConnect({ host: '127.0.0.1', port })
    const done = (ok: boolean): void => {
      socket.destroy()
      res(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.setTimeout(2000, () => done(false))
  })
}

async function waitRefused(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (await tcpAccepts(port)) {
    if (Date.now() >= deadline)
      throw new Error(`port ${port} still accepts connections ${timeoutMs} ms after the broker was stopped`)
    await sleep(100)
  }
}

function envKindError(): Error {
  return new Error('stopBroker/startBroker need a broker the suite started itself, but AMQP_URL points at an external one. Unset AMQP_URL to run fault tests.')
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
