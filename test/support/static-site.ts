import type { AddressInfo } from 'node:net'
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import sirv from 'sirv'

/**
 * Builds the deck as a static site for the sub-path `base` (`/talk/`) into `outDir`, the way the
 * README says to for a static host (`npm run build -- --base /talk/`). Rejects with the build's
 * output if it fails or takes longer than `timeoutMs` (default 5 min: a deadline, not a speed check).
 */
export async function buildDeck(base: string, outDir: string, timeoutMs = 300_000): Promise<void> {
  const child = spawn(process.execPath, ['node_modules/@slidev/cli/bin/slidev.mjs', 'build', '--base', base, '--out', outDir], {
    // A production build, whatever the test runner set (Vitest sets NODE_ENV=test, which Vite
    // would take for a development build), with no demo server baked in.
    env: { ...process.env, NODE_ENV: 'production', VITE_DEMO_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d))
  child.stderr.on('data', (d: Buffer) => (output += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  clearTimeout(timer)
  if (code !== 0)
    throw new Error(`slidev build --base ${base} failed (exit ${code}):\n${output.slice(-4000)}`)
}

/** A static file server holding a built deck under a sub-path, like a static host would. */
export interface StaticSite {
  /** `http://127.0.0.1:<port>`: the site's own (and only) origin. */
  origin: string
  /** Requests outside the sub-path (a file asked for at the host's root: a base-path bug), answered 404. */
  outside: string[]
  /** Requests under the sub-path that found no file, answered 404 (not the deck's own SPA fallback). */
  missing: string[]
  close: () => Promise<void>
}

/**
 * Serves `dir` under `base` on loopback, port 0: files as they are, and `index.html` for any
 * other path under `base` (the deck's routes, as a host's SPA fallback or Slidev's 404.html does).
 */
export async function serveUnder(dir: string, base: string): Promise<StaticSite> {
  const files = sirv(dir, { dev: true, etag: true })
  const outside: string[] = []
  const missing: string[] = []
  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    if (!url.startsWith(base)) {
      outside.push(url)
      res.writeHead(404).end()
      return
    }
    req.url = url.slice(base.length - 1)
    files(req, res, () => {
      const path = req.url!.split('?')[0]!
      if (/\.[a-z0-9]+$/i.test(path)) { // a file that is not there
        missing.push(url)
        res.writeHead(404).end()
        return
      }
      req.url = '/index.html'
      void files(req, res, () => void res.writeHead(404).end())
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    outside,
    missing,
    close: () => new Promise(resolve => server.close(() => resolve())),
  }
}
