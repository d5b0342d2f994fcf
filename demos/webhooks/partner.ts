import type { Request } from 'express'

/** What the partner's server did with one webhook it processed. */
export interface Processed {
  id: string
  /** The event type and video id from the body. */
  type: string
  videoId: string
}

/**
 * The receiving side of the webhooks demo: "a partner's CMS" that publishes a video when told it
 * is ready. It remembers the ids it processed (the last `maxSeen`), so a retry of one it has
 * already done is acknowledged and skipped; and it can be told to be down for the next n
 * attempts of a webhook, so the sender has something to retry.
 */
export class Partner {
  /** Ids processed, oldest first (a Map keeps insertion order), at most `maxSeen`. */
  readonly seen = new Map<string, Processed>()
  /** Webhooks the partner is "down" for, and for how many more attempts. */
  private readonly downFor = new Map<string, number>()
  duplicates = 0
  rejected = 0

  constructor(private readonly maxSeen = 1000) {}

  /** The demo's outage switch: the next `attempts` deliveries of `id` get a 503. */
  goDownFor(id: string, attempts: number): void {
    if (attempts > 0)
      this.downFor.set(id, attempts)
    else
      this.downFor.delete(id)
  }

  /** Whether the partner is "down" for this attempt (then it answers 503); counts the attempt off. */
  isDown(req: Request): boolean {
    const id = req.get('webhook-id') ?? ''
    const left = this.downFor.get(id)
    if (!left)
      return false
    if (left > 1)
      this.downFor.set(id, left - 1)
    else
      this.downFor.delete(id)
    return true
  }

  /** A duplicate: counted, and nothing else happens. */
  ignore(): void {
    this.duplicates++
  }

  /** The real work, once per id: here, remember that the video was published. */
  process(id: string, body: unknown): void {
    const { type, data } = (body ?? {}) as { type?: unknown, data?: { videoId?: unknown } }
    this.seen.set(id, { id, type: String(type), videoId: String(data?.videoId) })
    if (this.seen.size > this.maxSeen) // bounded: the oldest id is forgotten
      this.seen.delete(this.seen.keys().next().value!)
  }

  /** Forgets everything (shutdown). */
  clear(): void {
    this.seen.clear()
    this.downFor.clear()
  }
}
