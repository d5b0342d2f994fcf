// Load generator for bench/http-patterns.ts, run in its own process (its own fd limit):
// opens N raw HTTP connections that all wait on one job, reports when they are all open,
// then, armed with a version on stdin, reports when each one received that change.
// Usage: <port> <sse|long-poll> <jobId> <n>
// With jobId "-" (long polls) it reports {"type":"ready"} and reads "job <id> <since>" from stdin
// first, so the job is created only once the clients are about to connect, and each poll is
// held with `since` until the job's next version (since + 1).
import type { Socket } from 'node:net'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'

const [port, mode, jobArg, countArg] = process.argv.slice(2)
const n = Number(countArg)
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
let jobId = jobArg!
let since = ''
if (jobId === '-') {
  process.stdout.write(`${JSON.stringify({ type: 'ready' })}\n`)
  const line = (await input.next()).value as string | undefined
  const m = /^job (\S+) (\d+)/.exec(line ?? '')
  if (!m)
    throw new Error(`expected "job <id> <since>" on stdin, got ${JSON.stringify(line)}`)
  jobId = m[1]!
  since = m[2]!
}
const path = mode === 'sse' ? `/jobs/${jobId}/events` : `/jobs/${jobId}?wait=30${since ? `&since=${since}` : ''}`
// SSE: the frame with the armed id; a long poll: the answer carrying the next version (a
// timeout answer carries the old one and is not counted).
let marker = mode === 'sse' ? '\u0000' : since ? `"version":${Number(since) + 1},` : 'HTTP/1.1'
const epoch = () => performance.timeOrigin + performance.now()
const times: number[] = []
const sockets: Socket[] = []
let failed = 0

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
        times.push(epoch())
        seen = 'done'
        if (times.length + failed === n)
          report()
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

function report(): void {
  times.sort((a, b) => a - b)
  process.stdout.write(`${JSON.stringify({ type: 'received', count: times.length, failed, first: times[0], last: times.at(-1), p50: times[Math.floor(times.length * 0.5)] })}\n`)
}

// Connect in small paced batches so the server's listen backlog (511) never overflows:
// an overflow drops SYNs, and the kernel's 1 s / 3 s retransmits would dominate the numbers.
for (let i = 0; i < n; i += 250) {
  await Promise.all(Array.from({ length: Math.min(250, n - i) }, open))
  await new Promise(r => setTimeout(r, 40))
}
process.stdout.write(`${JSON.stringify({ type: 'connected', count: sockets.length - failed, failed })}\n`)
for (let r = await input.next(); !r.done; r = await input.next()) {
  const line = r.value
  if (line.startsWith('arm ')) {
    if (mode === 'sse')
      marker = `id: ${line.slice(4).trim()}\n`
    continue
  }
  break
}
for (const s of sockets) s.destroy()
process.exit(0)
