import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync } from 'node:sqlite'

/**
 * How long a write waits for another connection's lock on the jobs database (SQLite's busy timeout), ms.
 * Writes are synchronous, so this is also how long one can stall the server: once a write has failed,
 * the next ones do not wait at all until one succeeds again (see `JobJournal.state`).
 */
export const BUSY_TIMEOUT_MS = 1000
/** How often writes that failed are tried again, ms. */
export const RETRY_MS = 1000

/** The jobs database could not be opened or written: locked past the busy timeout, disk full, read-only. */
export class JournalError extends Error {
  constructor(message: string, readonly file: string, options?: ErrorOptions) {
    super(message, options)
  }
}

/** Another demo server has the jobs database open: `pid` is that server's process, when known. */
export class JournalInUseError extends JournalError {
  constructor(file: string, readonly pid: number | undefined) {
    super(`the jobs database ${file} is in use by another demo server (pid ${pid ?? 'unknown'}): stop that one, or give this one its own file with JOBS_DB=<path>`, file)
  }
}

/**
 * Where the job store writes every job (`Entry`: any JSON-able object with an `id`) so that it
 * outlives a restart of the demo server: one SQLite table, one JSON row per job, written on each change (WAL, synchronous=NORMAL: a few
 * tens of µs). `file` is a path, or `:memory:` for a journal that dies with the process (tests).
 * Uses `node:sqlite` (built into Node 22.5+; no service, no native addon to build).
 *
 * One demo server per file: the constructor takes `<file>.lock` (see {@link lockJobsDb}) and throws
 * {@link JournalInUseError} when another server holds it. Other processes (`sqlite3`) may still read
 * and write `file`; a write that meets their lock waits `BUSY_TIMEOUT_MS`. A write that still fails
 * throws from `save` (the caller refuses the request: 503) or, from `saveLater`/`delete`, is logged,
 * kept and retried every `RETRY_MS` (and flushed by `close`): the newest state of each job wins.
 */
export class JobJournal<Entry extends { id: string }> {
  private readonly db: DatabaseSync
  private readonly lock: DatabaseSync | undefined
  private readonly upsert
  private readonly remove
  private readonly list
  /** Writes that failed, newest per job id: the entry to write, or null for a delete. */
  private readonly pending = new Map<string, Entry | null>()
  private retryTimer: NodeJS.Timeout | undefined
  private failing = false
  private closed = false

  /** @throws {JournalInUseError} another demo server has `file`; {@link JournalError} it cannot be opened. */
  constructor(readonly file: string) {
    const onDisk = file !== ':memory:'
    try {
      if (onDisk)
        mkdirSync(dirname(file), { recursive: true })
      this.lock = onDisk ? lockJobsDb(file) : undefined
    }
    catch (err) {
      throw err instanceof JournalError ? err : new JournalError(`cannot open the jobs database ${file}: ${(err as Error).message}`, file, { cause: err })
    }
    try {
      this.db = new DatabaseSync(file, { timeout: BUSY_TIMEOUT_MS })
      this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, job TEXT NOT NULL); CREATE TABLE IF NOT EXISTS server (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL)')
      // Who holds the lock, for the next server's refusal. Informative only (the lock is what counts):
      // when another process holds the file's write lock right now, the server starts without it.
      try {
        this.db.prepare('INSERT INTO server (id, pid) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid').run(process.pid)
      }
      catch {}
      this.upsert = this.db.prepare('INSERT INTO jobs (id, job) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET job = excluded.job')
      this.remove = this.db.prepare('DELETE FROM jobs WHERE id = ?')
      this.list = this.db.prepare('SELECT job FROM jobs')
    }
    catch (err) {
      this.lock?.close()
      throw new JournalError(`cannot open the jobs database ${file}: ${(err as Error).message}`, file, { cause: err })
    }
  }

  /** `ok`, or `failing` from a failed write until a write succeeds again (writes that failed are retried every `RETRY_MS`). */
  get state(): 'ok' | 'failing' {
    return this.failing ? 'failing' : 'ok'
  }

  /** Writes `entry` now. @throws {JournalError} it could not be written (nothing is kept to retry). */
  save(entry: Entry): void {
    this.write(() => this.upsert.run(entry.id, JSON.stringify(entry)))
    this.pending.delete(entry.id) // this newer state is on disk; an older one must not overwrite it
  }

  /** Writes `entry`, or, when that fails, keeps it to write on the next retry. Never throws. */
  saveLater(entry: Entry): void {
    this.pending.set(entry.id, entry)
    this.tryFlush()
  }

  /** Deletes job `id`, or, when that fails, keeps the delete for the next retry. Never throws. */
  delete(id: string): void {
    this.pending.set(id, null)
    this.tryFlush()
  }

  /** Every job written and not deleted, in no particular order. */
  all(): Entry[] {
    return this.list.all().map(row => JSON.parse(String(row.job)) as Entry)
  }

  /** Writes what is still pending (one try), then closes the database and releases the lock. */
  close(): void {
    if (this.closed)
      return
    this.closed = true
    clearTimeout(this.retryTimer)
    this.tryFlush()
    if (this.pending.size > 0)
      console.warn(`[demos] jobs database ${this.file}: closing with ${this.pending.size} job change(s) not written; its running jobs go on from their last written state at the next start`)
    this.db.close()
    this.lock?.close()
  }

  /** Writes every pending change in one transaction (while failing, with none pending: checks it can write). */
  private tryFlush(): void {
    if (this.pending.size === 0 && !this.failing)
      return
    try {
      this.write(() => {
        this.db.exec('BEGIN IMMEDIATE')
        try {
          for (const [id, entry] of this.pending) {
            if (entry)
              this.upsert.run(id, JSON.stringify(entry))
            else
              this.remove.run(id)
          }
          this.db.exec('COMMIT')
        }
        catch (err) {
          if (this.db.isTransaction)
            this.db.exec('ROLLBACK')
          throw err
        }
      })
      this.pending.clear()
    }
    catch {} // kept in `pending`; write() logged it and scheduled the retry
  }

  /**
   * Runs one write. The first failure logs one line and makes later writes fail at once instead of
   * waiting `BUSY_TIMEOUT_MS` each (busy_timeout 0); every failure schedules a retry of whatever is
   * pending in `RETRY_MS`; the first success after that logs the recovery.
   * @throws {JournalError} the write failed.
   */
  private write(run: () => void): void {
    try {
      run()
    }
    catch (err) {
      const reason = (err as Error).message
      if (!this.failing) {
        this.failing = true
        this.db.exec('PRAGMA busy_timeout = 0')
        console.warn(`[demos] jobs database ${this.file}: ${reason}; jobs go on in memory and their rows are written when it is writable again (new jobs get a 503 until then)`)
      }
      if (!this.closed) {
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = undefined
          this.tryFlush()
        }, RETRY_MS)
      }
      throw new JournalError(`the jobs database ${this.file} cannot be written right now (${reason})`, this.file, { cause: err })
    }
    if (this.failing) {
      this.failing = false
      this.db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
      console.warn(`[demos] jobs database ${this.file}: writable again`)
    }
  }
}

/**
 * Takes the one-server lock of jobs database `file`: SQLite's write lock (`BEGIN IMMEDIATE`) on
 * `<file>.lock`, an empty SQLite file, held as long as the returned connection is open. It is a
 * POSIX record lock, so the OS drops it when the process dies however it dies (a crashed server
 * never blocks the next start), and SQLite also refuses it to a second connection in the same process.
 * @throws {JournalInUseError} another server holds it (its pid read from `file`'s `server` row, if there).
 */
export function lockJobsDb(file: string): DatabaseSync {
  const lock = new DatabaseSync(`${file}.lock`, { timeout: 0 })
  try {
    lock.exec('BEGIN IMMEDIATE')
    return lock
  }
  catch (err) {
    lock.close()
    if ((err as { errcode?: number }).errcode !== 5) // SQLITE_BUSY
      throw err
    throw new JournalInUseError(file, ownerPid(file))
  }
}

/**
 * Whether another demo server has jobs database `file` now: its JournalInUseError (naming its pid),
 * or undefined (free, `:memory:`, or not openable: the server itself will say why). Takes the lock
 * and releases it at once; for `npm start`, to refuse before it starts anything.
 */
export function jobsDbInUse(file: string): JournalInUseError | undefined {
  if (file === ':memory:')
    return undefined
  try {
    lockJobsDb(file).close()
    return undefined
  }
  catch (err) {
    return err instanceof JournalInUseError ? err : undefined
  }
}

/** The pid the server holding `file` wrote in it, if it did and that process is alive. */
function ownerPid(file: string): number | undefined {
  try {
    const db = new DatabaseSync(file, { readOnly: true })
    try {
      const pid = Number(db.prepare('SELECT pid FROM server WHERE id = 1').get()?.pid)
      process.kill(pid, 0) // throws when there is no such process
      return pid
    }
    finally {
      db.close()
    }
  }
  catch {
    return undefined
  }
}
