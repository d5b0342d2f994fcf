// Load generator for bench/http-patterns.ts, run in its own process (its own fd limit):
// opens N raw HTTP connections that all wait on one job, reports when they are all open,
// then reports when each one received the next change. Usage: <port> <sse|long-poll> <jobId> <n>
import type { Socket } from 'node:net'
import { connect } from 'node:net'

const [port, mode, jobId, countArg] = process.argv.slice(2)
const n = Number(countArg)
const path = mode === 'sse' ? `/jobs/${jobId}/events` : `/jobs/${jobId}?wait=30&since=1`
// SSE: the replay brings event 1, the next change is event 2; long poll: the answer is version 2.
const marker = mode === 'sse' ? 'id: 2\n' : '"version":2'
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
    sockets.push(s)
  })
}

function report(): void {
  times.sort((a, b) => a - b)
  process.stdout.write(`${JSON.stringify({ type: 'received', count: times.length, failed, first: times[0], last: times.at(-1), p50: times[Math.floor(times.length * 0.5)] })}\n`)
}

// Connect in batches so the listen backlog never overflows.
for (let i = 0; i < n; i += 500)
  await Promise.all(Array.from({ length: Math.min(500, n - i) }, open))
process.stdout.write(`${JSON.stringify({ type: 'connected', count: sockets.length - failed, failed })}\n`)
process.stdin.on('data', () => {
  for (const s of sockets) s.destroy()
  process.exit(0)
})
