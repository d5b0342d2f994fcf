import { setTimeout as sleep } from 'node:timers/promises'
import { signedHeaders } from './signature.ts'

/** Attempts per webhook before the sender gives up on it. */
export const MAX_ATTEMPTS = 5

/** One POST of a webhook to the receiver, as the sender saw it. */
export interface DeliveryAttempt {
  n: number
  /** How long the sender waited before this attempt, ms (0 for the first). */
  waitedMs: number
  /** The signed headers it carried. */
  headers: Record<string, string>
  /** The receiver's status; absent while in flight or when it never answered. */
  status?: number
  /** Round trip, ms. */
  ms?: number
  /** `timeout` or `network error` when no status came back. */
  error?: string
  /** The receiver said it had processed this id already. */
  duplicate?: boolean
}

/** One webhook (one id) and every attempt to deliver it, redeliveries included. */
export interface Delivery {
  id: string
  /** The JSON body, exactly as signed and sent. */
  body: string
  state: 'delivering' | 'delivered' | 'failed' | 'stopped'
  attempts: DeliveryAttempt[]
}

/** Where and how a sender delivers. */
export interface Target {
  url: string
  secret: Buffer
  /** The first wait; each further one doubles (±20 % jitter). */
  baseDelayMs: number
  /** An attempt with no answer after this long counts as failed, ms. */
  timeoutMs: number
  /** Aborted on shutdown: waits and requests stop at once. */
  signal: AbortSignal
  /** Told of each attempt as it starts (`attempt`) and ends (`answer`), and of the outcome (`done`). */
  onEvent: (event: 'attempt' | 'answer' | 'done', data: object) => void
}

// #region retry
/** Sends a webhook until it gets a 2xx. */
export async function deliver(d: Delivery, to: Target) {
  for (let n = 1; n <= MAX_ATTEMPTS; n++) {
    const wait = n === 1 ? 0 : backoff(n - 1, to)
    await pause(wait, to.signal) // longer each time
    if (await attempt(d, n, wait, to)) // a 2xx?
      return finish(d, 'delivered', to)
  }
  finish(d, 'failed', to) // to a dead-letter list
}
// #endregion retry

/**
 * Exponential backoff with jitter: base·2^(k-1), ±20 %, so that many senders retrying after
 * one outage do not all come back at the same instant. ±20 % keeps each wait longer than the last.
 */
export function backoff(k: number, { baseDelayMs }: Pick<Target, 'baseDelayMs'>): number {
  return Math.round(baseDelayMs * 2 ** (k - 1) * (0.8 + 0.4 * Math.random()))
}

/** Waits `ms` (nothing for 0); rejects at once when `signal` aborts (shutdown). */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  if (ms > 0)
    await sleep(ms, undefined, { signal })
}

/** One signed POST (fresh timestamp, fresh signature, same id and body); true on a 2xx. */
async function attempt(d: Delivery, n: number, waitedMs: number, to: Target): Promise<boolean> {
  const a: DeliveryAttempt = { n: d.attempts.length + 1, waitedMs, headers: signedHeaders(to.secret, d.id, d.body) }
  d.attempts.push(a)
  to.onEvent('attempt', { id: d.id, n: a.n, try: n, waitedMs, headers: a.headers })
  const t0 = performance.now()
  // A timer of our own rather than AbortSignal.timeout(): cleared as soon as the answer is in.
  const late = new AbortController()
  const timer = setTimeout(() => late.abort(new DOMException('no answer in time', 'TimeoutError')), to.timeoutMs)
  try {
    const res = await fetch(to.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...a.headers },
      body: d.body,
      signal: AbortSignal.any([to.signal, late.signal]),
    })
    const answer = await res.json().catch(() => ({})) as { duplicate?: unknown, error?: unknown }
    a.status = res.status
    a.duplicate = answer.duplicate === true
    if (typeof answer.error === 'string')
      a.error = answer.error
  }
  catch (err) {
    if (to.signal.aborted)
      throw err // shutting down: no answer event, the caller marks the delivery stopped
    a.error = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network error'
  }
  finally {
    clearTimeout(timer)
  }
  a.ms = Math.round(performance.now() - t0)
  to.onEvent('answer', { id: d.id, n: a.n, status: a.status, ms: a.ms, error: a.error, duplicate: a.duplicate })
  return a.status !== undefined && a.status >= 200 && a.status < 300
}

function finish(d: Delivery, state: 'delivered' | 'failed', to: Target): void {
  d.state = state
  to.onEvent('done', { id: d.id, state, attempts: d.attempts.length })
}
