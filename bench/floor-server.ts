// Floors for `npm run bench`, each in its own process (as the demo server is): what the same
// machine does with no demo code in the way. Prints `listening <port>` on stdout, then serves:
//   http      node:http alone: POST /publish parses the JSON body, answers 202 JSON
//   express   the same route in a trivial Express 5 app (express.json(), one handler)
//   one-way   node:net: every socket gets `<epochMs>\n` from a setTimeout timer every 10 ms
//   write     node:net: answers each socket's request with a pre-built event-stream head and holds
//             it; on stdin `go`, stamps epochMs and writes one pre-built SSE frame (`id: 2`) to all
//             of them; prints {"type":"stamp","at":...,"sockets":N}
// Usage: node --import tsx bench/floor-server.ts <mode>
import type { Socket } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { createInterface } from 'node:readline'
import express from 'express'
import { epochMs } from '../wire/clock.ts'

const mode = process.argv[2]
const answer = JSON.stringify({ status: 'confirmed' })

function ready(port: number): void {
  process.stdout.write(`listening ${port}\n`)
}

if (mode === 'http') {
  const server = createHttpServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => { body += d })
    req.on('end', () => {
      JSON.parse(body)
      res.writeHead(202, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(answer) })
      res.end(answer)
    })
  })
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
}
else if (mode === 'express') {
  const app = express()
  app.use(express.json())
  app.post('/publish', (_req, res) => {
    res.status(202).json({ status: 'confirmed' })
  })
  const server = app.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
}
else if (mode === 'one-way') {
  const server = createNetServer((socket) => {
    socket.setNoDelay(true)
    const tick = () => {
      if (socket.destroyed)
        return
      socket.write(`${epochMs()}\n`)
      setTimeout(tick, 10)
    }
    setTimeout(tick, 10)
    socket.on('error', () => {})
  })
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
}
else if (mode === 'write') {
  const sockets = new Set<Socket>()
  const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\nretry: 2000\n\n')
  const server = createNetServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', () => { // the request: no parsing, one pre-built answer
      sockets.add(socket)
      socket.write(head)
    })
    socket.once('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port))
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'go')
      break
    const at = epochMs()
    // What an SSE change costs at the least: one pre-built frame, one write per socket.
    const frame = Buffer.from(`: floor\nid: 2\nevent: progress\ndata: ${JSON.stringify({ version: 2, at })}\n\n`)
    for (const s of sockets) s.write(frame)
    process.stdout.write(`${JSON.stringify({ type: 'stamp', at, sockets: sockets.size })}\n`)
  }
  process.exit(0)
}
else {
  console.error('usage: floor-server.ts <http|express|one-way|write>')
  process.exit(2)
}
