import type { ChildProcess } from 'node:child_process'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Child processes of the demo server (second backend, app, sidecar). Each one is a small
 * TypeScript entry run with tsx, binds 127.0.0.1 on a free port and reports it over IPC.
 * The IPC channel is also the leash: `exitWithParent()` makes a child exit as soon as the
 * channel closes, so a child never outlives the demo server, even if that one is killed -9.
 * A child that listens on nothing (the capacity demo's load generator) uses `forkChild()` and
 * `exitWithParent()` alone.
 */

/** Message a child sends once it listens. */
export interface ReadyMessage { type: 'ready', port: number }

export interface ChildOptions {
  /** Name for logs, e.g. `backend A`. */
  name: string
  /** Extra environment for the child (merged over the parent's). */
  env?: Record<string, string>
  /** How long to wait for the child to report its port, ms. Default 30000. */
  startTimeoutMs?: number
}

/** A forked child process, tracked so that it dies with this process. */
export interface ForkedChild {
  name: string
  pid: number
  process: ChildProcess
  /** True once the process has exited. */
  readonly exited: boolean
  /** Resolves when the process has exited (at once if it already has). */
  readonly gone: Promise<void>
  /** SIGTERM, then SIGKILL after `graceMs` (default 2000); resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>
}

/** A child that listens and has reported its port. */
export interface RunningChild extends ForkedChild {
  port: number
  url: string
}

/** Every child alive right now, so that a crash of the parent can still take them down. */
const alive = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of alive) c.kill('SIGKILL')
})

/** Number of child processes this process has running (tests check it drops to 0). */
export function runningChildren(): number {
  return alive.size
}

/**
 * Forks `entry` (a module URL or path) with `process.execPath --import tsx` and an IPC channel
 * (stdout and stderr go to this process's), and tracks it until it exits. Waits for nothing:
 * listen to `process` for its messages. `options.startTimeoutMs` is not used here.
 */
export function forkChild(entry: string | URL, options: ChildOptions): ForkedChild {
  const file = entry instanceof URL || entry.startsWith('file:') ? fileURLToPath(entry) : entry
  const child = fork(file, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...options.env, CHILD_NAME: options.name },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  alive.add(child)
  let exited = false
  const gone = new Promise<void>((resolve) => {
    const done = () => {
      exited = true
      alive.delete(child)
      resolve()
    }
    child.once('exit', done)
    // A fork that never started (out of processes) emits 'error' and no 'exit'.
    child.once('error', () => {
      if (child.pid === undefined)
        done()
    })
  })
  return {
    name: options.name,
    pid: child.pid ?? -1,
    process: child,
    get exited() {
      return exited
    },
    gone,
    async stop(graceMs = 2000) {
      if (exited)
        return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await gone
      clearTimeout(timer)
    },
  }
}

/** Starts `entry` (a module URL or path) with tsx and waits until it reports its port. */
export async function startChild(entry: string | URL, options: ChildOptions): Promise<RunningChild> {
  const forked = forkChild(entry, options)
  const child = forked.process
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${options.name} did not start within ${options.startTimeoutMs ?? 30000} ms`)), options.startTimeoutMs ?? 30000)
    function fail(err: Error): void {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.kill('SIGKILL')
      reject(err)
    }
    function onMessage(msg: unknown): void {
      const m = msg as Partial<ReadyMessage>
      if (m?.type === 'ready' && typeof m.port === 'number') {
        clearTimeout(timer)
        child.off('message', onMessage)
        child.off('exit', onEarlyExit)
        resolve(m.port)
      }
    }
    function onEarlyExit(code: number | null): void {
      fail(new Error(`${options.name} exited with code ${code} before it was ready`))
    }
    child.on('message', onMessage)
    child.once('exit', onEarlyExit)
    child.once('error', fail)
  })
  return Object.assign(forked, { port, url: `http://127.0.0.1:${port}` })
}

/**
 * Supervises `children` as one set: when any of them exits (a crash, a kill -9), the others are
 * stopped too and `onDown` runs, once. The next start is then a whole new set: a crashed backend
 * never leaves its sibling running beside the fresh pair.
 */
export function superviseSet(children: RunningChild[], onDown: () => void): void {
  let down = false
  for (const c of children) {
    c.process.once('exit', () => {
      if (down)
        return
      down = true
      onDown()
      for (const other of children) void other.stop()
    })
  }
}

/** Starts every child of a set, or none: if one fails to start, those that did are stopped. */
export async function startSet(specs: Array<{ entry: string | URL, options: ChildOptions }>): Promise<RunningChild[]> {
  const results = await Promise.allSettled(specs.map(s => startChild(s.entry, s.options)))
  const started = results.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
  const failed = results.find(r => r.status === 'rejected')
  if (failed) {
    await Promise.all(started.map(c => c.stop()))
    throw failed.reason
  }
  return started
}

// #region leash
/**
 * For the child side: report the port to the parent, and exit when the parent goes away
 * (IPC channel closed) or asks us to stop.
 */
export function reportReady(port: number, close: () => void): void {
  if (!process.send)
    throw new Error('this file is a child process of the demo server; start it with `npm run demos`')
  process.send({ type: 'ready', port } satisfies ReadyMessage)
  exitWithParent(close)
}

/**
 * For the child side: run `close`, then exit (code 0), as soon as the parent goes away (IPC
 * channel closed: it stopped us, crashed or was killed -9) or sends SIGTERM/SIGINT.
 */
export function exitWithParent(close: () => void): void {
  const exit = () => {
    close()
    process.exit(0)
  }
  process.once('disconnect', exit) // parent died or stopped us: never outlive it
  process.once('SIGTERM', exit)
  process.once('SIGINT', exit)
}
// #endregion leash
