// The built deck for `npm start`: `slidev build` into .cache/deck (git-ignored), redone only when
// the deck's sources changed, and served as static files by sirv (the server Slidev itself uses
// for its build). A built deck shows its first slide in about a second and changes slides at once;
// the dev server (`npm run dev`) compiles each slide on first view, which is for editing.
import type { ChildProcess } from 'node:child_process'
import type { Server } from 'node:http'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { basename, dirname, join, relative } from 'node:path'
import sirv from 'sirv'

/** The project root (where slides.md is). */
export const PROJECT_ROOT = join(import.meta.dirname, '..')
/** Where `npm start` keeps its build of the deck, relative to the project root (under git-ignored .cache/). */
export const DECK_BUILD_DIR = '.cache/deck'
/** In the build directory: the hash of the sources it was built from. */
const STAMP = '.source-hash'
/** The command after `slidev`; part of the hash, so a change to it rebuilds. */
const BUILD_ARGS = ['build']

/**
 * Top-level entries of the project that `slidev build` never reads: editing them needs no new
 * build. Everything else counts (slides, pages, components, composables, demos whose code the
 * slides import, styles, public, setup, configs, package-lock.json), so a file added anywhere
 * else is a source until listed here.
 */
const NOT_SOURCES = new Set(['.git', '.cache', '.ci', 'node_modules', 'dist', '.slidev', 'test', 'test-results', 'exports', 'bench', 'scripts', 'tools', 'README.md', 'docs', 'docker-compose.yml'])

/**
 * The files at the root the deck is built from (slides.md, global-top.vue, index.html, vite.config.ts,
 * package-lock.json, …); another file there (a scratch script, a screenshot, a dotfile) forces no rebuild.
 */
const ROOT_SOURCE_FILE = /^[^.][^/]*\.(?:md|vue|ts|html|json|css)$/

/** Every source file of the deck under `root`, as paths relative to it, sorted. */
function sourceFiles(root: string): string[] {
  const files: string[] = []
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name)
      if (dir === root && (NOT_SOURCES.has(e.name) || (e.isFile() && !ROOT_SOURCE_FILE.test(e.name))))
        continue
      if (e.isDirectory())
        walk(path)
      else if (e.isFile())
        files.push(relative(root, path))
    }
  }
  walk(root)
  return files.sort()
}

/** SHA-256 (hex) of the deck's sources under `root` (default: this project): each file's path and content, and the build command. */
export function deckSourceHash(root = PROJECT_ROOT): string {
  const hash = createHash('sha256').update(JSON.stringify([...BUILD_ARGS, 'NODE_ENV=production']))
  for (const file of sourceFiles(root))
    hash.update(`\0${file}\0`).update(readFileSync(join(root, file)))
  return hash.digest('hex')
}

/** What `ensureDeckBuild` did. */
export interface DeckBuild {
  /** Absolute path of the built deck (index.html, assets/, ...). */
  dir: string
  /** True when it built now, false when the build on disk was already up to date. */
  built: boolean
  /** How long building took, ms (0 when it did not build). */
  buildMs: number
}

/**
 * Makes sure `root`/.cache/deck holds a build of the deck's current sources: compares the hash of
 * the sources with the one stamped in the build, and when they differ (or there is no build) runs
 * `slidev build` into a temporary directory that then replaces the old build, so an interrupted
 * build never leaves half a deck. `onBuild(first)` is called before a build starts (`first`: there was no build at all); `track` gets the
 * build's child process (so a caller can stop it). Rejects with the build's output when it fails.
 * The build never bakes in a demo server URL (VITE_DEMO_URL is left out): `serveDeck` says it at run time.
 */
export async function ensureDeckBuild(
  { root = PROJECT_ROOT, onBuild = () => {}, track = () => {} }: { root?: string, onBuild?: (first: boolean) => void, track?: (child: ChildProcess) => void } = {},
): Promise<DeckBuild> {
  const dir = join(root, DECK_BUILD_DIR)
  const hash = deckSourceHash(root)
  const stamp = join(dir, STAMP)
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash && existsSync(join(dir, 'index.html')))
    return { dir, built: false, buildMs: 0 }
  onBuild(!existsSync(join(dir, 'index.html')))
  const started = performance.now()
  removeAbandonedBuilds(dir)
  const tmp = `${dir}.tmp-${process.pid}`
  const { VITE_DEMO_URL: _, ...env } = process.env
  const child = spawn(process.execPath, [join(root, 'node_modules/@slidev/cli/bin/slidev.mjs'), ...BUILD_ARGS, '--out', tmp], {
    cwd: root,
    // A production build whoever asks: Vite keeps an inherited NODE_ENV (Vitest sets `test`), and
    // with anything but `production` it builds with import.meta.env.DEV = true, a different deck.
    env: { ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  track(child)
  let output = ''
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const code = await new Promise<number | string>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (c, signal) => resolve(signal ?? c ?? 1))
  })
  if (code !== 0) {
    rmSync(tmp, { recursive: true, force: true })
    throw new Error(`slidev build failed (${code}):\n${output.trim().split('\n').slice(-30).join('\n')}`)
  }
  writeFileSync(join(tmp, STAMP), `${hash}\n`)
  rmSync(dir, { recursive: true, force: true })
  try {
    renameSync(tmp, dir)
  }
  catch (err) {
    // Another `npm start` (or the bench) built the same sources and moved its build in first.
    rmSync(tmp, { recursive: true, force: true })
    if (!existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== hash)
      throw err
  }
  return { dir, built: true, buildMs: performance.now() - started }
}

/** Removes the temporary build directories (`<dir>.tmp-<pid>`) of builds whose process is gone (interrupted), and this process's own. */
function removeAbandonedBuilds(dir: string): void {
  const prefix = `${basename(dir)}.tmp-`
  for (const name of existsSync(dirname(dir)) ? readdirSync(dirname(dir)) : []) {
    const pid = Number(name.slice(prefix.length))
    if (name.startsWith(prefix) && Number.isInteger(pid) && (pid === process.pid || !isRunning(pid)))
      rmSync(join(dirname(dir), name), { recursive: true, force: true })
  }
}

/** Is a process with this pid alive (signal 0 reaches it)? */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  }
  catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The deck's run-time settings script (public/demo-url.js in the sources; served by `serveDeck`). */
const DEMO_URL_SCRIPT = '/demo-url.js'

/**
 * Serves the built deck in `dir` on `host`:`port` (default `localhost`, as Slidev's dev server)
 * with sirv: any path that is not a file gets index.html (`/3`, `/presenter/3`, `/overview`), the
 * content-hashed files under /assets/ are cached for a year. `/demo-url.js` tells the deck where
 * the demo server is (`demoUrl`, e.g. `http://127.0.0.1:3031`), so one build works with any
 * DEMO_PORT. Resolves once listening; rejects on a listen error (e.g. EADDRINUSE).
 */
export function serveDeck(dir: string, { port, host = 'localhost', demoUrl }: { port: number, host?: string, demoUrl: string }): Promise<Server> {
  const files = sirv(dir, {
    single: true,
    etag: true,
    setHeaders: (res, pathname) => {
      if (pathname.startsWith('/assets/'))
        res.setHeader('Cache-Control', 'public, max-age=31536000, immutable')
    },
  })
  const demoUrlScript = `window.__DEMO_URL__ = ${JSON.stringify(demoUrl)}\n`
  const server = createServer((req, res) => {
    if (req.url?.split('?')[0] === DEMO_URL_SCRIPT) {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(demoUrlScript)
      return
    }
    files(req, res)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}
