// `npm start` run as a presenter runs it, for test/e2e/start.test.ts and the deck bench (bench/deck.ts).
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { freePort } from './ports.ts'

/** A running `npm start` (scripts/start.ts). */
export interface RunningStart {
  /** The deck, e.g. `http://localhost:41234` (DECK_PORT). */
  deckUrl: string
  /** The demo server it started, e.g. `http://127.0.0.1:41235` (DEMO_PORT). */
  demoUrl: string
  /** performance.now() when its "ready" line arrived. */
  readyAt: number
  /** "ready in N s" as it printed it, seconds. */
  readyS: number
  /** Everything it printed so far (stdout and stderr). */
  output: () => string
  /** SIGTERM to its process group (deck, demo server, their children), SIGKILL after 5 s. */
  stop: () => Promise<void>
}

/**
 * Starts `npm start` (scripts/start.ts, with `args`, e.g. `['--dev']`) on free ports, without a
 * broker (AMQP_URL points at a closed port: the health line says it is down) and with jobs in
 * memory, and waits up to `timeoutMs` (default 120 s: a deck build on a loaded 2-core machine)
 * for its "ready" line, which must name the deck's URL. Rejects with its output otherwise.
 */
export async function startNpmStart({ args = [], env = {}, timeoutMs = 120_000 }: { args?: string[], env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<RunningStart> {
  const [deckPort, demoPort] = [await freePort(), await freePort()]
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, DECK_PORT: String(deckPort), DEMO_PORT: String(demoPort), AMQP_URL: 'amqp://127.0.0.1:1', JOBS_DB: ':memory:', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() reaches the deck, the demo server and their children
  })
  let out = ''
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null)
      return
    const exited = new Promise(r => child.once('exit', r))
    try {
      process.kill(-child.pid!, 'SIGTERM')
    }
    catch {}
    await Promise.race([exited, new Promise(r => setTimeout(r, 5000))])
    try {
      process.kill(-child.pid!, 'SIGKILL')
    }
    catch {}
  }
  const what = `npm start ${args.join(' ')}`.trim()
  const ready = new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = /ready in ([\d.]+) s/.exec(out)
      if (m)
        resolve(Number(m[1]))
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', code => reject(new Error(`${what} exited (${code}) before it said ready:\n${out.slice(-2000)}`)))
    setTimeout(() => reject(new Error(`${what} did not say ready within ${timeoutMs / 1000} s:\n${out.slice(-2000)}`)), timeoutMs).unref()
  })
  try {
    const readyS = await ready
    const readyAt = performance.now()
    const deckUrl = `http://localhost:${deckPort}`
    if (!out.includes(`deck         ${deckUrl}`))
      throw new Error(`${what} said ready but not that the deck is up at ${deckUrl}:\n${out.slice(-2000)}`)
    return { deckUrl, demoUrl: `http://127.0.0.1:${demoPort}`, readyAt, readyS, output: () => out, stop }
  }
  catch (err) {
    await stop()
    throw err
  }
}
