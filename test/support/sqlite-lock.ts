import { spawn } from 'node:child_process'

/** A write lock on an SQLite file, held by another process (a real second `DatabaseSync` connection). */
export interface HeldSqliteLock {
  /** The holder's pid. */
  pid: number
  /** COMMITs and closes (if not done already), then resolves when the holder has exited. */
  release: () => Promise<void>
  /** Resolves when the holder has exited (after `release()`, or by itself after `releaseAfterMs`). */
  exited: Promise<void>
}

// The holder: BEGIN IMMEDIATE (the write lock, as `sqlite3` or another server would take it), says
// "locked", and COMMITs on a line on stdin, or by itself `releaseAfterMs` after taking it (0: never).
const HOLDER = `
const { DatabaseSync } = require('node:sqlite')
const db = new DatabaseSync(process.argv[1])
db.exec('BEGIN IMMEDIATE')
process.stdout.write('locked\\n')
const release = () => { db.exec('COMMIT'); db.close(); process.exit(0) }
const ms = Number(process.argv[2])
if (ms > 0) setTimeout(release, ms)
process.stdin.on('data', release)
process.stdin.on('end', release)
`

/**
 * Starts a process that opens `file` with `node:sqlite` and holds its write lock (`BEGIN IMMEDIATE`);
 * resolves once it holds it. With `releaseAfterMs` it COMMITs by itself that long after taking it;
 * otherwise it holds it until `release()`.
 */
export async function holdSqliteLock(file: string, { releaseAfterMs = 0 }: { releaseAfterMs?: number } = {}): Promise<HeldSqliteLock> {
  const child = spawn(process.execPath, ['-e', HOLDER, file, String(releaseAfterMs)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d
      if (out.includes('locked\n'))
        resolve()
    })
    child.once('exit', code => reject(new Error(`the lock holder exited (${code}) before it held ${file}`)))
  })
  child.stdout.resume()
  return {
    pid: child.pid!,
    exited,
    async release() {
      if (child.exitCode === null && child.signalCode === null)
        child.stdin.end('release\n')
      await exited
    },
  }
}
