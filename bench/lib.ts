// Shared by the bench sections: the section type, percentiles, child processes that say when they
// are ready, the one-way loopback floor, HTTP load at a fixed concurrency. bench/index.ts loads the
// sections; a section imports this file and tools/, never index.ts or another section.
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { Agent, request } from 'node:http'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { DEMO_NODE_ARGS } from '../demos/platform/config.ts'
import { epochMs } from '../wire/clock.ts'

/** One table of the report. A section module's default export resolves with a list of them. */
export interface BenchSection {
  title: string
  columns: string[]
  rows: Array<Array<string | number>>
  /** Lines printed under the table: targets, floors, caveats. */
  notes?: string[]
  /** Raw numbers for the JSON file. */
  data?: unknown
  /** Rows that could not complete, each with the reason: the bench then exits non-zero. */
  failed?: string[]
}

/** Open file descriptors asked for in each bench child (bounded by the hard limit). */
export const FD_LIMIT = 20_000

/**
 * The `p`-quantile of `xs` (any order; not modified), `p` a fraction in 0..1 (0.5 the median, 0.99
 * the p99), in the unit of `xs`. No interpolation: the sorted sample at 0-based index
 * floor(n × p), the last one for p = 1. That is the nearest-rank percentile (rank ceil(n × p))
 * except when n × p is a whole number, where it takes the sample one rank higher (for four samples
 * p = 0.5 gives the third). NaN when `xs` is empty.
 */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? Number.NaN
}

/** `value / floor` as `1.23×`, or `–` when either is missing. */
export function ratio(value: number, floor: number): string {
  return Number.isFinite(value) && Number.isFinite(floor) && floor > 0 ? `${(value / floor).toFixed(2)}×` : '–'
}

export const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–')

/** A bench row that could not complete: the section reports it and the bench exits non-zero. */
export class RowFailed extends Error {}

/**
 * Spawns `node --import tsx <script> ...args` (or `node ...args` when they name their own
 * `--import`, as DEMO_NODE_ARGS does) from the repository root with the fd limit raised
 * (`ulimit -n` `fdLimit`, default FD_LIMIT, bounded by the hard limit; `--cpu-prof` into $BENCH_PROF when set) and
 * resolves once a stdout line matches `ready` (the match, its capture groups included), within
 * `timeoutMs` (default 30 s). `lines` reads the stdout lines after it. Rejects with a RowFailed
 * carrying its last lines of output when it exits, closes its output or times out first.
 */
export async function spawnUntilReady(args: string[], ready: RegExp, env: Record<string, string> = {}, timeoutMs = 30_000, fdLimit = FD_LIMIT): Promise<{ child: ChildProcess, match: RegExpExecArray, lines: AsyncIterator<string> }> {
  const node = args.includes('--import') ? args : ['--import', 'tsx', ...args]
  const name = args.find(a => a.endsWith('.ts')) ?? args[0]
  const cmd = `ulimit -n ${fdLimit} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "${process.execPath}" ${process.env.BENCH_PROF ? `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROF}` : ''} ${node.map(a => `'${a}'`).join(' ')}`
  const child = spawn('bash', ['-c', cmd], { cwd: `${import.meta.dirname}/..`, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] })
  child.stdin!.on('error', () => {}) // it may be gone when told to stop
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const seen: string[] = []
  const exited = new Promise<never>((_, reject) => child.once('exit', code => reject(new RowFailed(`${name} exited (${code}) before it was ready: ${seen.slice(-5).join(' | ')}`))))
  exited.catch(() => {})
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new RowFailed(`${name} not ready within ${timeoutMs} ms: ${seen.slice(-5).join(' | ')}`)), timeoutMs).unref())
  const found = (async () => {
    for (let r = await lines.next(); !r.done; r = await lines.next()) {
      seen.push(r.value)
      const m = ready.exec(r.value)
      if (m)
        return m
    }
    throw new RowFailed(`${name} closed its output before it was ready`)
  })()
  const match = await Promise.race([found, exited, timeout])
  return { child, match, lines }
}

/** Raises `RowFailed` unless the child says `type` (a JSON line) within `timeoutMs`. */
export async function nextJson(it: AsyncIterator<string>, type: string, timeoutMs: number): Promise<any> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined
    const r = await Promise.race([it.next(), new Promise<{ done: true, value: undefined }>((res) => { timer = setTimeout(() => res({ done: true, value: undefined }), deadline - Date.now()) })])
    clearTimeout(timer)
    if (r.done)
      break
    try {
      const v = JSON.parse(r.value)
      if (v.type === type)
        return v
    }
    catch {}
  }
  throw new RowFailed(`no "${type}" from the child within ${timeoutMs} ms`)
}

/** Samples of the one-way floor (one every 10 ms). */
const ONE_WAY_SAMPLES = 1000

/**
 * The one-way floor: a timer fires in another process (every 10 ms) and writes its epochMs stamp
 * on an open loopback socket; the delay is this process's epochMs on arrival minus the stamp.
 * It is what any push (SSE, a long poll's answer) costs at the least: a timer, a write, a read.
 */
export async function oneWayFloor(): Promise<number[]> {
  const { child, match } = await spawnUntilReady(['bench/floor-server.ts', 'one-way'], /^listening (\d+)/)
  try {
    const delays: number[] = []
    await new Promise<void>((resolve, reject) => {
      const s = connect(Number(match[1]), '127.0.0.1')
      s.setNoDelay(true)
      s.on('error', reject)
      let rest = ''
      s.setEncoding('utf8')
      s.on('data', (d: string) => {
        const now = epochMs()
        const parts = (rest + d).split('\n')
        rest = parts.pop()!
        for (const p of parts) delays.push(now - Number(p))
        if (delays.length >= ONE_WAY_SAMPLES + 100) {
          s.destroy()
          resolve()
        }
      })
    })
    return delays.slice(100) // after the JIT warmed up
  }
  finally {
    await stopChild(child)
  }
}

/** Sends SIGTERM and waits for the exit (at most 5 s, then SIGKILL). */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null)
    return
  const exited = new Promise(r => child.once('exit', r))
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(t)
}

/** Resident set size of `pid`, KB (Linux /proc). */
export async function rssKb(pid: number): Promise<number> {
  const { readFileSync } = await import('node:fs')
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1])
}

/** POSTs `body` as JSON with `agent`; resolves with the status (0 on a network error). */
export function postJson(url: string, body: string, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    })
    req.once('error', () => resolve(0))
    req.end(body)
  })
}

/**
 * Closed-loop load: `concurrency` keep-alive connections, each POSTing `body(i)` to `url` as soon
 * as its previous answer arrived, for `durationMs` after a `warmupMs` warm-up (default 1000).
 * Returns requests per second (answers with `okStatus`), the request latency p50/p99 (ms) and how
 * many answers were not `okStatus`.
 */
export async function closedLoop(url: string, body: (i: number) => string, opts: { concurrency: number, durationMs: number, warmupMs?: number, okStatus?: number }): Promise<{ rps: number, p50: number, p99: number, failed: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency })
  const ok = opts.okStatus ?? 202
  let i = 0
  let measuring = false
  let done = 0
  let failed = 0
  const lat: number[] = []
  let stop = false
  const worker = async () => {
    while (!stop) {
      const t0 = performance.now()
      const status = await postJson(url, body(i++), agent)
      if (!measuring)
        continue
      if (status === ok) {
        done++
        lat.push(performance.now() - t0)
      }
      else {
        failed++
      }
    }
  }
  const workers = Array.from({ length: opts.concurrency }, worker)
  await new Promise(r => setTimeout(r, opts.warmupMs ?? 1000))
  measuring = true
  const t0 = performance.now()
  await new Promise(r => setTimeout(r, opts.durationMs))
  const seconds = (performance.now() - t0) / 1000
  measuring = false
  const rps = done / seconds
  stop = true
  await Promise.all(workers)
  agent.destroy()
  return { rps, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), failed }
}

/**
 * A demo server in audience mode (`npm run demos` as a child, broker off: AMQP_URL points nowhere),
 * its phones' listener on 127.0.0.1 with room for `devices` phones. Resolves once it printed both
 * addresses: the child, the deck-facing URL and the phones' join URL (with its token).
 */
export async function audienceServer(devices: number): Promise<{ server: ChildProcess, demoUrl: string, joinUrl: URL }> {
  const { child: server, match, lines } = await spawnUntilReady([...DEMO_NODE_ARGS], /listening on (http:\/\/[\d.]+:\d+)/, {
    DEMO_PORT: '0',
    AMQP_URL: 'amqp://127.0.0.1:1',
    AUDIENCE: '1',
    AUDIENCE_HOST: '127.0.0.1',
    AUDIENCE_PORT: '0',
    AUDIENCE_MAX_DEVICES: String(devices),
  })
  let joinUrl = ''
  for (let r = await lines.next(); !r.done && !joinUrl; r = await lines.next()) joinUrl = /phones join at (\S+)/.exec(r.value)?.[1] ?? ''
  server.stdout!.resume()
  return { server, demoUrl: match[1]!, joinUrl: new URL(joinUrl) }
}
