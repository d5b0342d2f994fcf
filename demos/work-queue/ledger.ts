import type { WorkerEvent } from '../../wire/work-queue.ts'

/** What the ledger says: the slide and the tests check every job was acked exactly once. */
export interface LedgerStats {
  published: number
  deliveries: number
  redelivered: number
  acked: number
  ackedMoreThanOnce: number
  /** Acks per job id, e.g. `{"job-1": 1}`. */
  acks: Record<string, number>
}

/** Counts what happened to the work queue's jobs: published, delivered, redelivered, acked. */
export class Ledger {
  private published = 0
  private deliveries = 0
  private redelivered = 0
  private readonly acks = new Map<string, number>()

  /** `count` jobs were confirmed by the broker. */
  addPublished(count: number): void {
    this.published += count
  }

  /** Takes in what a worker reported. */
  record(e: WorkerEvent): void {
    if (e.type === 'delivered') {
      this.deliveries++
      if (e.redelivered)
        this.redelivered++
    }
    else if (e.type === 'acked') {
      this.acks.set(e.job, (this.acks.get(e.job) ?? 0) + 1)
    }
  }

  /** Starts over (a fresh demo). */
  reset(): void {
    this.published = this.deliveries = this.redelivered = 0
    this.acks.clear()
  }

  stats(): LedgerStats {
    const counts = [...this.acks.values()]
    return {
      published: this.published,
      deliveries: this.deliveries,
      redelivered: this.redelivered,
      acked: counts.length,
      ackedMoreThanOnce: counts.filter(n => n > 1).length,
      acks: Object.fromEntries(this.acks),
    }
  }
}
