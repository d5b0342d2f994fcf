import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync } from 'node:sqlite'

/**
 * Where the job store writes every job (`Entry`: any JSON-able object with an `id`) so that it
 * outlives a restart of the demo server: one SQLite table, one JSON row per job, written on each change (WAL, synchronous=NORMAL: a few
 * tens of µs). `file` is a path, or `:memory:` for a journal that dies with the process (tests).
 * Uses `node:sqlite` (built into Node 22.5+; no service, no native addon to build).
 */
export class JobJournal<Entry extends { id: string }> {
  private readonly db: DatabaseSync
  private readonly upsert
  private readonly remove
  private readonly list

  constructor(file: string) {
    if (file !== ':memory:')
      mkdirSync(dirname(file), { recursive: true })
    this.db = new DatabaseSync(file)
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, job TEXT NOT NULL)')
    this.upsert = this.db.prepare('INSERT INTO jobs (id, job) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET job = excluded.job')
    this.remove = this.db.prepare('DELETE FROM jobs WHERE id = ?')
    this.list = this.db.prepare('SELECT job FROM jobs')
  }

  save(entry: Entry): void {
    this.upsert.run(entry.id, JSON.stringify(entry))
  }

  delete(id: string): void {
    this.remove.run(id)
  }

  /** Every job written and not deleted, in no particular order. */
  all(): Entry[] {
    return this.list.all().map(row => JSON.parse(String(row.job)) as Entry)
  }

  close(): void {
    if (this.db.isOpen)
      this.db.close()
  }
}
