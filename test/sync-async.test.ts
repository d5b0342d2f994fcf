import type { ChildProcess } from 'node:child_process'
import type { RunningDemoServer } from './support/demo-server.ts'
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_N } from '../demos/sync-async/cpu.ts'
import { CpuWorker } from '../demos/sync-async/pool.ts'
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

/** The slowest heartbeat sent between `from` and `to` (epoch ms). */
function worstBeat(beats: Beat[], from: number, to: number): number {
  return Math.max(0, ...beats.filter(b => b.sentAt >= from && b.sentAt <= to).map(b => b.ms))
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

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

  it('the heartbeat stalls while the blocking handler computes, and stays flat while the worker thread computes', async () => {
    const n = 2_000_000

    const b0 = Date.now()
    const blocking = await (await fetch(`${demos.url}/sync-async/blocking?n=${n}`)).json() as { cpuMs: number, primes: number }
    const b1 = Date.now()
    await sleep(300)

    const w0 = Date.now()
    const viaWorker = await (await fetch(`${demos.url}/sync-async/worker?n=${n}`)).json() as { cpuMs: number, primes: number }
    const w1 = Date.now()
    await sleep(300)

    expect(viaWorker.primes).toBe(blocking.primes)
    expect(blocking.primes).toBe(148_933)
    const stalled = worstBeat(heart.beats, b0, b1)
    const flat = worstBeat(heart.beats, w0, w1)
    // A heartbeat sent just after the loop got stuck waits for (nearly) all of the work.
    expect(stalled, `worst heartbeat during ${blocking.cpuMs} ms of blocking work`).toBeGreaterThan(blocking.cpuMs * 0.5)
    expect(flat, `worst heartbeat during ${viaWorker.cpuMs} ms of work on the worker`).toBeLessThan(Math.min(150, viaWorker.cpuMs * 0.3))
    // And heartbeats kept being answered while the worker computed (not merely sent).
    expect(heart.beats.filter(b => b.sentAt >= w0 && b.sentAt <= w1).length).toBeGreaterThanOrEqual(3)
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
    const running = fetch(`${demos.url}/sync-async/worker?n=${MAX_N}`)
    await sleep(50)
    const leavers = [1, 2, 3].map(() => new AbortController())
    const queued = leavers.map(c => fetch(`${demos.url}/sync-async/worker?n=${MAX_N}`, { signal: c.signal }).catch(() => undefined))
    await sleep(100)

    const full = await fetch(`${demos.url}/sync-async/worker?n=1000`)
    expect(full.status).toBe(503)
    expect(full.headers.get('retry-after')).toBe('1')
    expect(await full.json()).toEqual({ error: 'the worker is busy: at most 4 jobs at once' })

    for (const c of leavers) c.abort()
    await Promise.all(queued)
    await sleep(100)
    // Had the three left-behind jobs stayed queued, this would be a 503 again.
    const t0 = Date.now()
    const next = await fetch(`${demos.url}/sync-async/worker?n=1000`)
    expect(next.status).toBe(200)
    expect((await running).status).toBe(200)
    // It only waited for the job that was already running, not for three more.
    expect(Date.now() - t0).toBeLessThan(1500)
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
      await waitFor(() => !worker.running, 'the idle thread to stop', 3000)
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
    await sleep(50)
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
    await waitFor(() => threads() <= before.threads, 'the worker thread to end', 3000)
    await waitFor(() => resources() <= before.resources, 'timers and sockets to be released', 3000)
  })
})
