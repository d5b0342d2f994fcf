import type { ChildProcess } from 'node:child_process'
import type { RunningDemoServer } from './support/demo-server.ts'
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_N } from '../demos/sync-async/cpu.ts'
import { CpuWorker } from '../demos/sync-async/worker-thread.ts'
import { startDemoServer, waitFor } from './support/demo-server.ts'

interface Beat { sentAt: number, ms: number }

/**
 * A heartbeat client in ANOTHER process (the demo server runs inside this test process, so
 * a client here would be frozen by the same blocked loop): GET every `everyMs`, one JSON line
 * per answer with when it was sent and how long it took.
 */
function startHeartbeat(url: string, everyMs: number): { beats: Beat[], child: ChildProcess } {
  const script = `
    const [url, every] = process.argv.slice(1)
    setInterval(async () => {
      const sentAt = Date.now(), t0 = performance.now()
      try { await (await fetch(url)).text(); console.log(JSON.stringify({ sentAt, ms: performance.now() - t0 })) } catch {}
    }, Number(every))`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, url, String(everyMs)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const beats: Beat[] = []
  let buf = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk
    const lines = buf.split('\n')
    buf = lines.pop() ?? ''
    for (const line of lines) beats.push(JSON.parse(line) as Beat)
  })
  return { beats, child }
}

/** Counts requests to `path` as the server receives them, and their responses closing. */
function watchRequests(demos: RunningDemoServer, path: string): { arrived: number, closed: number } {
  const seen = { arrived: 0, closed: 0 }
  demos.server.prependListener('request', (req, res) => { // before Express rewrites req.url
    if (req.url?.startsWith(path)) {
      seen.arrived++
      res.once('close', () => seen.closed++)
    }
  })
  return seen
}

describe('sync vs async on the server: the same CPU work on the event loop and on a worker thread', () => {
  let demos: RunningDemoServer
  let heart: ReturnType<typeof startHeartbeat>

  beforeAll(async () => {
    demos = await startDemoServer({ connectBroker: false })
    heart = startHeartbeat(`${demos.url}/sync-async/heartbeat`, 40)
    await waitFor(() => heart.beats.length >= 5, 'the first heartbeats')
    // Start the worker thread once, so its start-up is not part of the comparison.
    expect((await fetch(`${demos.url}/sync-async/worker?n=1000`)).status).toBe(200)
  })
  afterAll(async () => {
    heart?.child.kill()
    await demos?.close()
  })

  it('while the blocking handler computes the loop answers nothing; while the worker thread computes it keeps answering', async () => {
    const n = MAX_N // the longest run: the more heartbeats fall inside it, the less one slow moment of a busy machine matters
    type Answer = { cpuMs: number, primes: number, loopDelayMs: number, heartbeatsServed: number, loopUtilization: number, timerTicks: number, load1m: number, cpus: number }
    const blocking = await (await fetch(`${demos.url}/sync-async/blocking?n=${n}`)).json() as Answer
    const viaWorker = await (await fetch(`${demos.url}/sync-async/worker?n=${n}`)).json() as Answer

    console.log(`[sync-async] load ${blocking.load1m} on ${blocking.cpus} cores; ${JSON.stringify({ blocking, viaWorker })}`)
    expect(viaWorker.primes).toBe(blocking.primes)
    expect(blocking.primes).toBe(216_816)
    // On the loop: not one heartbeat answered, the loop busy all the time, and late by (nearly) all of the work.
    expect(blocking.heartbeatsServed).toBe(0)
    expect(blocking.loopUtilization).toBeGreaterThanOrEqual(0.95)
    expect(blocking.timerTicks).toBe(0)
    expect(blocking.loopDelayMs, `loop delay during ${blocking.cpuMs} ms of blocking work`).toBeGreaterThanOrEqual(blocking.cpuMs - 20)
    // On the worker: heartbeats kept being answered (one every 40 ms was sent), and the loop was
    // late by a fraction of what blocking cost. Both measured on the server, in the same run, so
    // a busy machine stretches both sides alike.
    expect(viaWorker.heartbeatsServed, `heartbeats answered during ${viaWorker.cpuMs} ms on the worker`).toBeGreaterThanOrEqual(2)
    expect(viaWorker.loopDelayMs, `loop delay during the worker's ${viaWorker.cpuMs} ms`).toBeLessThan(blocking.loopDelayMs / 2)
    // ...its own timer kept firing, and it was busy less of the time than when it computed.
    expect(viaWorker.timerTicks, `the server's own 10 ms timer during the worker's ${viaWorker.cpuMs} ms`).toBeGreaterThanOrEqual(1)
    expect(viaWorker.loopUtilization, `loop utilization during the worker's ${viaWorker.cpuMs} ms`).toBeLessThan(blocking.loopUtilization)
    // Both answers say how busy the machine was, so a slide can show it next to the result.
    for (const a of [blocking, viaWorker]) {
      expect(a.cpus).toBeGreaterThanOrEqual(1)
      expect(a.load1m).toBeGreaterThanOrEqual(0)
    }
  })

  it('rejects a bad size with a 400 JSON error on both variants', async () => {
    for (const variant of ['blocking', 'worker']) {
      for (const bad of ['abc', '5', String(MAX_N + 1), '1.5', '-1', '1e6']) {
        const res = await fetch(`${demos.url}/sync-async/${variant}?n=${bad}`)
        expect(res.status, `${variant}?n=${bad}`).toBe(400)
        expect(await res.json()).toEqual({ error: 'n must be an integer between 1000 and 3000000' })
      }
      const twice = await fetch(`${demos.url}/sync-async/${variant}?n=1000&n=2000`)
      expect(twice.status).toBe(400)
    }
  })

  it('bounds the worker queue with a 503, and frees the slot of a queued job whose client went away', async () => {
    const seen = watchRequests(demos, '/sync-async/worker')
    const running = fetch(`${demos.url}/sync-async/worker?n=${MAX_N}`)
    await waitFor(() => seen.arrived === 1, 'the first job to reach the server')
    const leavers = [1, 2, 3].map(() => new AbortController())
    const queued = leavers.map(c => fetch(`${demos.url}/sync-async/worker?n=${MAX_N}`, { signal: c.signal }).catch(() => undefined))
    await waitFor(() => seen.arrived === 4, 'three more jobs to reach the server')

    const full = await fetch(`${demos.url}/sync-async/worker?n=1000`)
    expect(full.status).toBe(503)
    expect(full.headers.get('retry-after')).toBe('1')
    expect(await full.json()).toEqual({ error: 'the worker is busy: at most 4 jobs at once' })

    for (const c of leavers) c.abort()
    await Promise.all(queued)
    await waitFor(() => seen.closed >= 4, 'the server to see the three clients leave') // and the 503 above
    // Had the three left-behind jobs stayed queued, this would be a 503 again.
    const next = await fetch(`${demos.url}/sync-async/worker?n=1000`)
    expect(next.status).toBe(200)
    const first = await running
    expect(first.status).toBe(200)
    // It waited for what was left of the running job, not for three more jobs of the same size.
    const { cpuMs } = await first.json() as { cpuMs: number }
    const { waitMs } = await next.json() as { waitMs: number }
    expect(waitMs).toBeLessThan(cpuMs * 2)
  })
})

describe('the worker thread helper', () => {
  it('runs jobs on one thread, stops the thread when idle, and starts it again on demand', async () => {
    const worker = new CpuWorker({ idleMs: 200 })
    try {
      expect(worker.running).toBe(false)
      const [a, b] = await Promise.all([worker.run(10_000), worker.run(20_000)])
      expect([a.primes, b.primes]).toEqual([1229, 2262])
      expect(worker.running).toBe(true)
      await waitFor(() => !worker.running, 'the idle thread to stop')
      expect((await worker.run(1000)).primes).toBe(168)
    }
    finally {
      await worker.close()
    }
  })

  it('on close, rejects waiting jobs with a 503 and stops the thread', async () => {
    const worker = new CpuWorker()
    const first = worker.run(MAX_N).catch((e: Error) => e)
    const second = worker.run(1000).catch((e: Error & { status?: number }) => e)
    await worker.close()
    expect(worker.running).toBe(false)
    expect(await second).toMatchObject({ status: 503, message: 'the server is shutting down' })
    expect(await first).toBeInstanceOf(Error)
    await expect(worker.run(1000)).rejects.toMatchObject({ status: 503 })
  })
})

describe('cleanup', () => {
  /** OS threads of this process (Linux): a worker thread is one of them. */
  const threads = () => readdirSync('/proc/self/task').length
  const resources = () => process.getActiveResourcesInfo().filter(r => r !== 'TTYWrap').length

  it('stops the worker thread and leaves no timer or socket behind once the demo server is closed', async () => {
    const before = { threads: threads(), resources: resources() }
    const demos = await startDemoServer({ connectBroker: false })
    expect((await fetch(`${demos.url}/sync-async/worker?n=1000`)).status).toBe(200)
    expect((await fetch(`${demos.url}/sync-async/blocking?n=1000`)).status).toBe(200)
    expect(threads()).toBeGreaterThan(before.threads)
    await demos.close()
    await waitFor(() => threads() <= before.threads, 'the worker thread to end')
    await waitFor(() => resources() <= before.resources, 'timers and sockets to be released')
  })
})
