import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { runDemoMain, startDemoProcess } from './support/children.ts'
import type { RunningDemoServer } from './support/demo-server.ts'
import { startDemoServer, waitFor } from './support/demo-server.ts'
import { call, startJob } from './support/http-patterns.ts'
import { freePort } from '../tools/ports.ts'
import { holdSqliteLock } from './support/sqlite-lock.ts'

/** A fresh JOBS_DB path in its own temporary folder. */
function freshJobsDb(): string {
  return join(mkdtempSync(join(tmpdir(), 'wp-jobs-')), 'jobs.sqlite')
}

/** Job `id` as its row in `file` says, read over a connection of its own (WAL: readers never wait for a writer). */
function rowOf(file: string, id: string): { state: string, progress: number } | undefined {
  const db = new DatabaseSync(file, { timeout: 5000 })
  try {
    const row = db.prepare('SELECT job FROM jobs WHERE id = ?').get(id)
    return row ? JSON.parse(String(row.job)) : undefined
  }
  finally {
    db.close()
  }
}

/** Runs `npm start` (scripts/start.ts, `--dev`) with `env` until it exits by itself; its process group is killed after `timeoutMs`. */
async function runNpmStart(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null, output: string }> {
  const [deckPort, demoPort] = [await freePort(), await freePort()]
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--dev'], {
    env: { ...process.env, DECK_PORT: String(deckPort), DEMO_PORT: String(demoPort), AMQP_URL: 'amqp://127.0.0.1:1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: the timeout reaches the deck and demo server it may have started
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => { output += d })
  child.stderr.on('data', (d: Buffer) => { output += d })
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  clearTimeout(timer)
  try {
    process.kill(-child.pid!, 'SIGKILL') // anything it left behind
  }
  catch {}
  return { code, output }
}

describe('the jobs database (JOBS_DB) never takes the demo server down', () => {
  const servers: RunningDemoServer[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(s => s.close()))
  })
  async function serverOn(jobsDb: string): Promise<RunningDemoServer> {
    const s = await startDemoServer({ connectBroker: false, jobsDb })
    servers.push(s)
    return s
  }

  it('a write that meets a short lock (another process in BEGIN IMMEDIATE for 300 ms) waits it out: POST /jobs is a 202', async () => {
    const jobsDb = freshJobsDb()
    const s = await serverOn(jobsDb)
    const lock = await holdSqliteLock(jobsDb, { releaseAfterMs: 300 })
    const res = await call(`${s.url}/jobs`, { json: { durationMs: 100 } })
    expect(res.status).toBe(202)
    await lock.exited
    await waitFor(() => rowOf(jobsDb, res.body.id)?.state === 'done', 'the job\'s row to say done')
  })

  it('a lock held past the busy timeout: POST /jobs is a 503 with Retry-After, running jobs go on in memory and their rows are written once the lock is gone', async () => {
    const lines: string[] = []
    const spies = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'error')]
    for (const spy of spies) spy.mockImplementation((...args: unknown[]) => void lines.push(args.map(a => a instanceof Error ? a.stack : String(a)).join(' ')))
    try {
      const jobsDb = freshJobsDb()
      const s = await serverOn(jobsDb)
      const stepping = await startJob(s.url, { durationMs: 1000 }) // a step every 200 ms: they fall due while the lock is held
      const finishing = await startJob(s.url, { durationMs: 60_000 })
      const lock = await holdSqliteLock(jobsDb)
      const refused = await call(`${s.url}/jobs`, { json: { durationMs: 100 } })
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(refused.body.error).toMatch(/jobs database .*jobs\.sqlite.* (is locked|cannot be written)/)
      expect((await call(`${s.url}/health`)).body.jobsDb).toBe('failing')
      // A change that cannot be written is kept in memory: readers and watchers see it at once...
      s.ctx.jobs.finish(finishing.id)
      expect((await call(`${s.url}/jobs/${finishing.id}`)).body.state).toBe('done')
      expect(rowOf(jobsDb, finishing.id)?.state).toBe('running') // ...its row is behind while the lock is held
      await waitFor(async () => (await call(`${s.url}/jobs/${stepping.id}`)).body.state === 'done', 'the stepping job to end in memory')
      await lock.release()
      // ...and written once the lock is gone, without another change of the job.
      await waitFor(() => rowOf(jobsDb, finishing.id)?.state === 'done', 'the finished job\'s row to be written')
      await waitFor(() => rowOf(jobsDb, stepping.id)?.state === 'done', 'the stepping job\'s row to be written')
      await waitFor(async () => (await call(`${s.url}/health`)).body.jobsDb === 'ok', '/health to say the jobs database is ok again')
      expect((await call(`${s.url}/jobs`, { json: { durationMs: 100 } })).status).toBe(202)
      // Logged: the outage (naming the file) and the recovery, each one line, never a stack trace.
      expect(lines.join('\n')).toMatch(/jobs database .*jobs\.sqlite.*locked/)
      expect(lines.join('\n')).toMatch(/jobs database .*jobs\.sqlite.* writable again/)
      expect(lines.join('\n')).not.toMatch(/\n\s+at /)
    }
    finally {
      spies.forEach(spy => spy.mockRestore())
    }
  })

  it('a second demo server on the same file refuses to start: `npm run demos` and `npm start` print one line naming the file and the first server\'s pid, exit 2', async () => {
    const jobsDb = freshJobsDb()
    const first = await serverOn(jobsDb) // in this process: its pid is ours
    await expect(startDemoServer({ connectBroker: false, jobsDb })).rejects.toThrow(`is in use by another demo server (pid ${process.pid})`)
    const demos = await runDemoMain({ JOBS_DB: jobsDb, DEMO_PORT: '0', AMQP_URL: 'amqp://127.0.0.1:1' })
    expect(demos.code).toBe(2)
    expect(demos.stdout).not.toMatch(/listening/)
    expect(demos.stderr.trim()).toBe(`[demos] the jobs database ${jobsDb} is in use by another demo server (pid ${process.pid}): stop that one, or give this one its own file with JOBS_DB=<path>`)
    const start = await runNpmStart({ JOBS_DB: jobsDb })
    expect(start.code).toBe(2)
    expect(start.output.trim()).toBe(`[start] the jobs database ${jobsDb} is in use by another demo server (pid ${process.pid}): stop that one, or give this one its own file with JOBS_DB=<path>`)
    // The first one never noticed.
    expect((await call(`${first.url}/jobs`, { json: { durationMs: 100 } })).status).toBe(202)
  })

  it('a demo server killed with SIGKILL leaves no lock behind: the next one on the same file starts and goes on with its jobs', async () => {
    const jobsDb = freshJobsDb()
    const { url, child } = await startDemoProcess({ JOBS_DB: jobsDb, AMQP_URL: 'amqp://127.0.0.1:1' })
    let job: { id: string }
    try {
      job = await startJob(url, { durationMs: 60_000 })
    }
    finally {
      child.kill('SIGKILL')
    }
    await new Promise(resolve => child.once('exit', resolve))
    const next = await serverOn(jobsDb)
    expect((await call(`${next.url}/jobs/${job.id}`)).body).toMatchObject({ id: job.id, state: 'running' })
  })
})
