import { shallowRef, triggerRef } from 'vue'
import { epochMs } from '../wire/clock'

/** What kind of thing crossed the wire. */
export type TrafficKind = 'request' | 'stream' | 'event' | 'frame' | 'note'

/** One request, held connection, event or frame, on the log's own clock (ms since `t0`). */
export interface TrafficEntry {
  id: number
  /** The party or client it belongs to; the timeline draws one lane per value. */
  lane: string
  kind: TrafficKind
  /** Short text for the timeline: `GET /jobs/3`, `progress`, `frame ↓`. */
  label: string
  method?: string
  url?: string
  status?: number
  /** Bytes of body sent (request) and received (response, event frame). */
  sentBytes: number
  receivedBytes: number
  /** When it was sent / opened, in ms on the log's clock. */
  start: number
  /** When it was answered / closed; undefined while still open (held). */
  end?: number
  error?: string
  data?: unknown
}

/**
 * A reactive record of a demo's traffic. Every request, event and frame a demo makes
 * goes through one of these, and the slide's live views read from it.
 */
export class TrafficLog {
  readonly entries = shallowRef<TrafficEntry[]>([])
  private nextId = 1
  /** Clock zero: `epochMs()` when the log was created or cleared. */
  t0 = epochMs()
  /** While set, `now()` stands still at this many ms (a recording shown as it ended); `clear()` unfreezes. */
  frozenAt: number | undefined
  private clearListeners = new Set<(entries: TrafficEntry[], t0: number) => void>()

  /** Milliseconds since clock zero (or the frozen time). */
  now(): number {
    return this.frozenAt ?? epochMs() - this.t0
  }

  /** Stops the clock at `at` ms: open entries stop growing. */
  freeze(at: number): void {
    this.frozenAt = at
    triggerRef(this.entries)
  }

  /**
   * Calls `listener` with the entries and clock zero a `clear()` is about to forget (a recorder
   * keeps them). Returns the function that stops listening.
   */
  onClear(listener: (entries: TrafficEntry[], t0: number) => void): () => void {
    this.clearListeners.add(listener)
    return () => this.clearListeners.delete(listener)
  }

  /** Adds an entry that starts now (or at `start`) and returns it; `finish` closes it. */
  begin(init: Omit<TrafficEntry, 'id' | 'start' | 'sentBytes' | 'receivedBytes'> & Partial<Pick<TrafficEntry, 'start' | 'sentBytes' | 'receivedBytes'>>): TrafficEntry {
    const entry: TrafficEntry = { sentBytes: 0, receivedBytes: 0, start: this.now(), ...init, id: this.nextId++ }
    this.entries.value = [...this.entries.value, entry]
    return entry
  }

  /** Updates an entry (status, bytes, end time...) and notifies the views. */
  update(entry: TrafficEntry, patch: Partial<TrafficEntry>): void {
    Object.assign(entry, patch)
    triggerRef(this.entries)
  }

  /** Closes an entry now. */
  finish(entry: TrafficEntry, patch: Partial<TrafficEntry> = {}): void {
    this.update(entry, { end: this.now(), ...patch })
  }

  /** Records a point in time (an SSE event, a WebSocket frame) as a zero-length entry. */
  tick(init: Omit<TrafficEntry, 'id' | 'start' | 'end' | 'sentBytes' | 'receivedBytes'> & Partial<Pick<TrafficEntry, 'sentBytes' | 'receivedBytes'>>): TrafficEntry {
    const t = this.now()
    return this.begin({ ...init, start: t, end: t })
  }

  /** Forgets everything and restarts the clock. */
  clear(): void {
    for (const listener of this.clearListeners) listener(this.entries.value, this.t0)
    this.t0 = epochMs()
    this.frozenAt = undefined
    this.entries.value = []
  }

  /** Shows `entries` as the whole log, on a clock that started `ago` ms before now (a replay). */
  load(entries: TrafficEntry[], ago = 0): void {
    this.t0 = epochMs() - ago
    this.frozenAt = undefined
    this.nextId = Math.max(this.nextId, ...entries.map(e => e.id + 1))
    this.entries.value = entries
  }

  /** Totals the views show: requests, bytes both ways, entries still open. */
  totals(lane?: string): { requests: number, events: number, sentBytes: number, receivedBytes: number, open: number } {
    const list = lane ? this.entries.value.filter(e => e.lane === lane) : this.entries.value
    let requests = 0
    let events = 0
    let sentBytes = 0
    let receivedBytes = 0
    let open = 0
    for (const e of list) {
      if (e.kind === 'request' || e.kind === 'stream')
        requests++
      if (e.kind === 'event' || e.kind === 'frame')
        events++
      if (e.end === undefined)
        open++
      sentBytes += e.sentBytes
      receivedBytes += e.receivedBytes
    }
    return { requests, events, sentBytes, receivedBytes, open }
  }
}
