// Load generator for bench/http-patterns.ts, run in its own process (its own fd limit): opens N
// connections that all wait on one job, reports when they are all open, then when each one
// received the job's next change. Usage: <port> <sse|long-poll|raw> - <n>
// It reports {"type":"ready"} and reads "job <id> <since>" from stdin first, so the job is created
// only once the clients are about to connect; every connection counts the answer or event that
// carries version since + 1 (a long poll is held with `since` until then). `raw` connects plain
// sockets to bench/floor-server.ts `write` and counts its one frame.
import { request } from 'node:http'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { frameSplitter } from '../composables/sse-parse.ts'
import { epochMs } from '../demos/clock.ts'

const [port, mode, , countArg] = process.argv.slice(2)
const n = Number(countArg)
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
process.stdout.write(`${JSON.stringify({ type: 'ready' })}\n`)
const line = (await input.next()).value as string | undefined
const m = /^job (\S+) (\d+)/.exec(line ?? '')
if (!m)
  throw new Error(`expected "job <id> <since>" on stdin, got ${JSON.stringify(line)}`)
const [, jobId, since] = m
const path = mode === 'sse' ? `/jobs/${jobId}/events` : `/jobs/${jobId}?wait=30&since=${since}`
// The answer or event carrying the next version (a long poll's timeout answer carries the old one).
const marker = `"version":${Number(since) + 1},`
const times: number[] = []
const sockets: Array<{ destroy: () => void }> = []
let failed = 0

/** SSE: a node:http request whose body is read by the shared frame splitter (composables/sse-parse.ts). */
function openStream(): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: Number(port), path, agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      res.on('data', frameSplitter((f) => {
        if (!f.data?.includes(marker))
          return false
        received()
        return true
      }))
    })
    req.once('socket', s => s.once('connect', () => resolve()))
    req.on('error', () => {
      failed++
      resolve()
    })
    req.end()
    sockets.push(req)
  })
}

/** A long poll: a raw socket, counted when the answer carries `marker`. */
function open(): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(Number(port), '127.0.0.1', () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`)
      resolve()
    })
    let seen = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => {
      if (seen === 'done')
        return
      seen += d
      if (seen.includes(marker)) {
        seen = 'done'
        received()
      }
    })
    s.on('error', () => {
      failed++
      resolve()
    })
    s.on('close', () => {})
    sockets.push(s)
  })
}

/** One client got the change; the last one reports. */
function received(): void {
  times.push(epochMs())
  if (times.length + failed === n)
    report()
}

function report(): void {
  times.sort((a, b) => a - b)
  process.stdout.write(`${JSON.stringify({ type: 'received', count: times.length, failed, first: times[0], last: times.at(-1), p50: times[Math.floor(times.length * 0.5)] })}\n`)
}

// Connect in small paced batches so the server's listen backlog (511) never overflows:
// an overflow drops SYNs, and the kernel's 1 s / 3 s retransmits would dominate the numbers.
for (let i = 0; i < n; i += 250) {
  await Promise.all(Array.from({ length: Math.min(250, n - i) }, mode === 'sse' ? openStream : open))
  await new Promise(r => setTimeout(r, 40))
}
process.stdout.write(`${JSON.stringify({ type: 'connected', count: sockets.length - failed, failed })}\n`)
await input.next() // "stop", or the end of stdin
for (const s of sockets) s.destroy()
process.exit(0)
