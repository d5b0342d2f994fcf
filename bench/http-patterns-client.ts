// Load generator for bench/http-patterns.ts, run in its own process (its own fd limit):
// opens N raw HTTP connections that all wait on one job, reports when they are all open,
// then, armed with a version on stdin, reports when each one received that change.
// Usage: <port> <sse|long-poll> <jobId> <n>
import type { Socket } from 'node:net'
import { connect } from 'node:net'

const [port, mode, jobId, countArg] = process.argv.slice(2)
const n = Number(countArg)
const path = mode === 'sse' ? `/jobs/${jobId}/events` : `/jobs/${jobId}?wait=30`
// SSE: the frame with the armed id; a long poll: its answer (nothing arrives before the change).
let marker = mode === 'sse' ? '\u0000' : 'HTTP/1.1'
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
process.stdin.setEncoding('utf8')
process.stdin.on('data', (line: string) => {
  if (line.startsWith('arm ')) {
    if (mode === 'sse')
      marker = `id: ${line.slice(4).trim()}\n`
    return
  }
  for (const s of sockets) s.destroy()
  process.exit(0)
})
