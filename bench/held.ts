// `npx tsx bench/index.ts held-100k` (opt-in): BENCH_HELD event streams (default 100,000) held by
// one demo-server process (bench/held-server.ts: demos/app.ts and its job store), against as many
// raw sockets held by a node:net server given one pre-built write each (bench/floor-server.ts
// `write`). The clients are the capacity demo's load generator (demos/capacity/clients.ts), several
// processes of it, each connecting from its own loopback address (127.0.0.2, 127.0.0.3, ...; the
// demo row from the next ones, clear of the floor's closing sockets) and its own ports, so that no
// port range runs out and no process passes its open-file limit. Reports RSS
// per connection, time to open all, and one change -> last client told, floor and demo side by side.
// Needs `ulimit -Hn` above BENCH_HELD (one file per connection in the server) and about 40 KB of
// free memory per connection (server, load generators and the kernel's sockets): checked first.
import type { ChildProcess } from 'node:child_process'
import type { HelperCommand, HelperReport } from '../demos/capacity/run.ts'
import type { BenchSection } from './lib.ts'
import { execFileSync, fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { f2, nextJson, ratio, RowFailed, rssKb, spawnUntilReady, stopChild } from './lib.ts'

const HELD = Number(process.env.BENCH_HELD ?? 100_000)
/** Open files a process needs beyond one per connection (pipes, the job journal, its modules). */
const FD_HEADROOM = 500
/** Most connections one load generator opens (well under the open-file limit of 20,000 seen here). */
const PER_GENERATOR_MAX = 19_000
/** The first client port of each generator: each binds its clients to its own address and ports from here up. */
const FIRST_PORT = 20_000
/** Free memory asked for per held connection, KB: server (~15), generators (~5), kernel (~2 sockets). */
const KB_PER_CONNECTION = 40
/** How long opening them all may take, ms (the generators exit by themselves a little after). */
const OPEN_TIMEOUT_MS = Math.max(120_000, HELD * 3)

interface Held { held: number, failed: number, rssPerConnKb: number, openMs: number, changeToLastMs: number, firstToLastMs: number }

/** The open-file hard limit of processes started from here (`ulimit -Hn`), and the memory available now (KB). */
function machine(): { hardFiles: number, availableKb: number } {
  const hard = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
  const available = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]
  return { hardFiles: hard === 'unlimited' ? Number.POSITIVE_INFINITY : Number(hard), availableKb: Number(available ?? Number.NaN) }
}

/** Why this machine cannot hold HELD connections in one process, or undefined when it can. */
function cannotHold(): string | undefined {
  const { hardFiles, availableKb } = machine()
  if (hardFiles < HELD + FD_HEADROOM)
    return `this machine lets a process open ${hardFiles} files (ulimit -Hn) and one holding ${HELD} connections needs ${HELD + FD_HEADROOM}: raise the hard limit (root: ulimit -Hn ${HELD + FD_HEADROOM} in the shell that runs the bench, /etc/security/limits.conf, or docker run --ulimit nofile=${HELD + FD_HEADROOM}), or measure fewer with BENCH_HELD`
  if (availableKb < HELD * KB_PER_CONNECTION)
    return `${HELD} held connections need about ${Math.round(HELD * KB_PER_CONNECTION / 1024)} MB free, and ${Math.round(availableKb / 1024)} MB are available (MemAvailable)`
  return undefined
}

/** How many load generators: each opens at most PER_GENERATOR_MAX. */
function generatorCount(): number {
  return Math.ceil(HELD / PER_GENERATOR_MAX)
}

/** Load generators (demos/capacity/clients.ts), `count` of them, each ready for its 'open'. */
async function generators(count: number): Promise<Array<{ child: ChildProcess, next: (type: HelperReport['type']) => Promise<HelperReport> }>> {
  const script = join(import.meta.dirname, '../demos/capacity/clients.ts')
  const gens = Array.from({ length: count }, () => {
    const child = fork(script, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, CAPACITY_DEADLINE_MS: String(OPEN_TIMEOUT_MS + 120_000) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const inbox: HelperReport[] = []
    child.on('message', (m: HelperReport) => inbox.push(m))
    const next = async (type: HelperReport['type']) => {
      const deadline = Date.now() + OPEN_TIMEOUT_MS
      for (;;) {
        const i = inbox.findIndex(r => r.type === type)
        if (i >= 0)
          return inbox.splice(i, 1)[0]!
        if (Date.now() > deadline || child.exitCode !== null)
          throw new RowFailed(`a load generator gave no "${type}" (exit ${child.exitCode})`)
        await new Promise(r => setTimeout(r, 50))
      }
    }
    return { child, next }
  })
  await Promise.all(gens.map(g => g.next('ready')))
  return gens
}

/**
 * Opens HELD event streams to `port` from the generators (each from its own 127.0.0.x), waits until
 * all are open, reads the server's RSS, writes `go` to the server and waits until every client was
 * told (`marker` in what it received). `server` prints {"type":"stamp","at":...} on `go`.
 */
async function holdAndTell(server: { child: ChildProcess, lines: AsyncIterator<string> }, port: number, request: Pick<HelperCommand, 'path' | 'headers' | 'marker'>, firstAddress: number): Promise<Held> {
  const count = generatorCount()
  const gens = await generators(count)
  try {
    await new Promise(r => setTimeout(r, 500))
    const before = await rssKb(server.child.pid!)
    const t0 = Date.now()
    const batch = Math.max(25, Math.floor(250 / count)) // all of them together stay under the listen backlog
    gens.forEach((g, i) => g.child.send({ type: 'open', host: '127.0.0.1', port, mode: 'sse', ...request, count: Math.floor(HELD / count) + (i < HELD % count ? 1 : 0), localAddress: `127.0.0.${firstAddress + i}`, localPort: FIRST_PORT, batch } satisfies HelperCommand))
    const opened = await Promise.all(gens.map(g => g.next('opened'))) as Array<Extract<HelperReport, { opened: number }>>
    const openMs = Date.now() - t0
    await new Promise(r => setTimeout(r, 1000)) // every accept handled
    const after = await rssKb(server.child.pid!)
    server.child.stdin!.write('go\n')
    const stamp = await nextJson(server.lines, 'stamp', 30_000) as { at: number }
    const told = await Promise.all(gens.map(g => g.next('received'))) as Array<Extract<HelperReport, { type: 'received' }>>
    const held = opened.reduce((n, o) => n + o.opened, 0)
    const lasts = told.map(t => t.last).filter((t): t is number => t !== null)
    const firsts = told.map(t => t.first).filter((t): t is number => t !== null)
    if (lasts.length < gens.length)
      throw new RowFailed(`held ${held} of ${HELD}; a load generator's clients were never told`)
    return { held, failed: told.reduce((n, t) => n + t.failed, 0), rssPerConnKb: (after - before) / Math.max(1, held), openMs, changeToLastMs: Math.max(...lasts) - stamp.at, firstToLastMs: Math.max(...lasts) - Math.min(...firsts) }
  }
  finally {
    await Promise.all(gens.map(async (g) => {
      if (g.child.exitCode === null) {
        const gone = new Promise(r => g.child.once('exit', r))
        g.child.kill('SIGTERM')
        await gone
      }
    }))
  }
}

/** The floor: a node:net server that answers each socket with one pre-built event-stream head and, on `go`, one pre-built frame. */
async function floor(): Promise<Held> {
  const { child, match, lines } = await spawnUntilReady(['bench/floor-server.ts', 'write'], /^listening (\d+)/, {}, 30_000, HELD + FD_HEADROOM)
  try {
    return await holdAndTell({ child, lines }, Number(match[1]), { path: '/', headers: {}, marker: '\nid: 2\n' }, 2)
  }
  finally {
    child.stdin!.end()
    await stopChild(child)
  }
}

/** The demo server: GET /jobs/:id/events on one job, told by the job finishing. */
async function demo(): Promise<Held> {
  const { child, match, lines } = await spawnUntilReady(['--max-semi-space-size=8', '--import', 'tsx', 'bench/held-server.ts'], /^listening (\d+) (\S+) (\d+)/, { SSE_MAX_CLIENTS: String(HELD + 100) }, 60_000, HELD + FD_HEADROOM)
  const [, port, id, version] = match
  try {
    return await holdAndTell({ child, lines }, Number(port), { path: `/jobs/${id}/events`, headers: { 'Accept': 'text/event-stream', 'Last-Event-ID': version! }, marker: `\nid: ${Number(version) + 1}\n` }, 2 + generatorCount())
  }
  finally {
    child.stdin!.end()
    await stopChild(child)
  }
}

export default async function (): Promise<BenchSection[]> {
  const columns = ['held connections', 'held', 'failed', 'server RSS / connection (KB)', 'RSS / floor', 'time to open all (ms)', 'change → last client told (ms)', 'told / floor', 'first → last told (ms)']
  const title = `${HELD.toLocaleString('en')} held connections on one process (load generators in ${generatorCount()} processes, each from its own 127.0.0.x)`
  const why = cannotHold()
  if (why)
    return [{ title, columns: ['held connections', 'could not run'], rows: [[`${HELD} event streams`, why]], failed: [why], data: { held: HELD, ...machine() } }]
  const loadBefore = loadavg()[0]!
  const f = await floor()
  const d = await demo()
  const row = (name: string, t: Held) => [name, t.held, t.failed, t.rssPerConnKb.toFixed(1), ratio(t.rssPerConnKb, f.rssPerConnKb), t.openMs, f2(t.changeToLastMs), ratio(t.changeToLastMs, f.changeToLastMs), f2(t.firstToLastMs)]
  return [{
    title,
    columns,
    rows: [
      row('raw node:net, one pre-built write each (the floor)', f),
      row('SSE streams on the demo server (GET /jobs/:id/events; the change: the job finishes)', d),
    ],
    notes: [
      'The same load generators open both, one batch at a time; a stream counts as open when its 200 arrives. RSS is the server\'s resident memory with all connections held minus before, divided by their number (kernel socket buffers are not in it).',
      `Machine: ${machine().hardFiles} open files per process (ulimit -Hn); load average (1 min) ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after.`,
    ],
    data: { held: HELD, floor: f, demo: d },
  }]
}
