// The capacity demo's load generator: a child process of the demo server (started by run.ts with
// forkChild, so it has its own file-descriptor budget and its own event loop). Told over IPC to
// open `count` connections to the demo server on loopback that all wait on one job, it reports as
// they open, then when each one has been told of the job's next change, then closes them all and
// exits. It exits by itself, whatever happens, at its deadline (env CAPACITY_DEADLINE_MS) and as
// soon as the demo server goes away (the IPC leash).
import type { Socket } from 'node:net'
import type { HelperCommand, HelperReport } from './run.ts'
import { connect } from 'node:net'
import { exitWithParent } from '../platform/children.ts'
import { epochMs } from '../../wire/clock.ts'

/** Connections opened at once, then a pause: the server's listen backlog (511) never overflows, so no SYN is dropped and retried 1 s later. */
const BATCH = 250
const BATCH_PAUSE_MS = 40

const sockets: Socket[] = []
const times: number[] = []
let opened = 0
let failed = 0
/** Clients asked for, and whether all of them have been started (only then can the last one report). */
let asked = 0
let allStarted = false
let done = false

function send(report: HelperReport): Promise<void> {
  return new Promise(resolve => process.send ? process.send(report, () => resolve()) : resolve())
}

/** Closes every socket; nothing is counted from then on. */
function closeAll(): void {
  done = true
  for (const s of sockets) s.destroy()
}
/** Closes every socket and exits: after the report (0), at the deadline (3). */
function exit(code: number): never {
  closeAll()
  process.exit(code)
}

// #region open
/**
 * One client: a raw HTTP/1.1 request on its own TCP connection (the lightest client there is),
 * counted as told when `marker` shows up in the bytes it receives: the change's `id:` line in an
 * event stream, its `"version":` in a long poll's answer. A stream counts as open when its `200`
 * arrives; a long poll when its request is sent (its answer comes only with the change).
 */
function openOne(cmd: HelperCommand, localPort?: number): Promise<void> {
  return new Promise((resolve) => {
    let state: 'connecting' | 'waiting' | 'told' | 'failed' = 'connecting'
    let tail = ''
    const fail = () => {
      if (state === 'told' || state === 'failed' || done)
        return
      if (state === 'waiting')
        opened--
      state = 'failed'
      failed++
      resolve()
      check()
    }
    const s = connect({ port: cmd.port, host: cmd.host, localAddress: cmd.localAddress, localPort }, () => {
      const head = Object.entries(cmd.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
      s.write(`GET ${cmd.path} HTTP/1.1\r\nHost: ${cmd.host.includes(':') ? `[${cmd.host}]` : cmd.host}:${cmd.port}\r\n${head}\r\n`)
      if (cmd.mode === 'long-poll') {
        state = 'waiting'
        opened++
        resolve()
      }
    })
    s.setEncoding('utf8')
    s.on('data', (chunk: string) => {
      if (state === 'told' || state === 'failed')
        return
      // The head of the answer: anything but a 200 (a 429, a 404) means this client is not held,
      // and a long poll answered for another reason than the change (timeout, shutdown) is over.
      if (chunk.startsWith('HTTP/') && (!chunk.startsWith('HTTP/1.1 200') || /^X-Long-Poll: (?!changed)/im.test(chunk)))
        return fail()
      if (state === 'connecting') { // an event stream's 200: the server holds it now
        state = 'waiting'
        opened++
        resolve()
      }
      const seen = tail + chunk
      if (seen.includes(cmd.marker)) {
        state = 'told'
        times.push(epochMs())
        check()
      }
      tail = seen.slice(-cmd.marker.length)
    })
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' || localPort === undefined || state !== 'connecting')
        return fail()
      state = 'failed' // this attempt only, not counted: that port is taken, the kernel picks one
      void openOne(cmd).then(resolve)
    })
    s.on('close', fail)
    sockets.push(s)
  })
}
// #endregion open

/** Once every client has been started and each one told or failed, reports (once) and exits. */
function check(): void {
  if (done || !allStarted || times.length + failed < asked)
    return
  done = true
  const sorted = [...times].sort((a, b) => a - b)
  void send({ type: 'received', told: sorted.length, failed, first: sorted[0] ?? null, last: sorted.at(-1) ?? null }).then(() => exit(0))
}

async function open(cmd: HelperCommand): Promise<void> {
  asked = cmd.count
  const batch = cmd.batch ?? BATCH
  for (let i = 0; i < cmd.count && !done; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, cmd.count - i) }, (_, j) => openOne(cmd, cmd.localPort === undefined ? undefined : cmd.localPort + i + j)))
    await send({ type: 'progress', opened, failed })
    await new Promise(r => setTimeout(r, BATCH_PAUSE_MS))
  }
  await send({ type: 'opened', opened, failed })
  allStarted = true
  check()
}

const deadlineMs = Number(process.env.CAPACITY_DEADLINE_MS) || 30_000
setTimeout(() => {
  console.warn(`[capacity] helper: deadline of ${deadlineMs} ms reached, closing ${sockets.length} connections`)
  exit(3)
}, deadlineMs)
exitWithParent(closeAll)
process.on('message', (msg: HelperCommand) => {
  if (msg.type === 'open')
    void open(msg)
})
await send({ type: 'ready' })
