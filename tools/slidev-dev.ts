// The deck's Slidev dev server (what `npm run dev` runs), started on a given port for the e2e
// tests (test/e2e/global-setup.ts) and for `npm run record` (scripts/record.ts).
import { spawn } from 'node:child_process'
import { join } from 'node:path'

const PROJECT_ROOT = join(import.meta.dirname, '..')
const SLIDEV = join(PROJECT_ROOT, 'node_modules/@slidev/cli/bin/slidev.mjs')

/** A running Slidev dev server (see `startSlidevDev`). */
export interface SlidevDevServer {
  /** Its origin, e.g. `http://localhost:41234`. */
  url: string
  /** Everything it printed so far (stdout and stderr). */
  output: () => string
  /** SIGTERM to its process group (Vite's children too), then SIGKILL 300 ms later; resolves after that. */
  stop: () => Promise<void>
  /** SIGTERM to its process group, synchronously (for a process 'exit' handler). */
  kill: () => void
}

/**
 * Starts `slidev` (the dev server, `--open false`, BROWSER=none) for the deck at the project root
 * on `port` (e.g. from tools/ports.ts `freePort`), in a process group of its own, and resolves once
 * `GET http://localhost:<port>/` answers 2xx (asked every 250 ms). Rejects with its output, after
 * stopping it, when it exits first or has not answered within `timeoutMs` (default 60 000 ms).
 */
export async function startSlidevDev({ port, timeoutMs = 60_000 }: { port: number, timeoutMs?: number }): Promise<SlidevDevServer> {
  const url = `http://localhost:${port}`
  const child = spawn(process.execPath, [SLIDEV, '--port', String(port), '--open', 'false'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BROWSER: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() reaches Vite's children too
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d))
  child.stderr.on('data', (d: Buffer) => (output += d))
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig)
    }
    catch {}
  }
  const server: SlidevDevServer = {
    url,
    output: () => output,
    kill: () => signal('SIGTERM'),
    stop: async () => {
      signal('SIGTERM')
      await new Promise(r => setTimeout(r, 300))
      signal('SIGKILL')
    },
  }
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the Slidev dev server exited (${child.exitCode ?? child.signalCode}) before it answered on ${url}:\n${output}`)
    if (await fetch(`${url}/`).then(r => r.ok, () => false))
      return server
    if (Date.now() > deadline) {
      await server.stop()
      throw new Error(`the Slidev dev server did not answer on ${url} within ${timeoutMs / 1000} s:\n${output}`)
    }
    await new Promise(r => setTimeout(r, 250))
  }
}
