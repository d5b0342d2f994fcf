import { HttpError } from '../platform/http.ts'

/** Smallest and largest `n` accepted: the work is bounded (about 0.4 s at the default on a laptop core). */
export const MIN_N = 1_000
export const MAX_N = 3_000_000
/** Default size of the work: primes below two million, roughly 300-800 ms of one core. */
export const DEFAULT_N = 2_000_000

// #region cpu
/** Counts the primes below `n` by trial division: pure CPU, no I/O, no await. */
export function countPrimes(n: number): number {
  let count = 0
  for (let i = 2; i < n; i++) {
    let prime = true
    for (let d = 2; d * d <= i; d++) {
      if (i % d === 0) {
        prime = false
        break
      }
    }
    if (prime)
      count++
  }
  return count
}
// #endregion cpu

/** Reads `?n=` (default {@link DEFAULT_N}); anything but an integer in range is a 400. */
export function parseN(raw: unknown): number {
  if (raw === undefined || raw === '')
    return DEFAULT_N
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(n) || n < MIN_N || n > MAX_N)
    throw new HttpError(400, `n must be an integer between ${MIN_N} and ${MAX_N}`)
  return n
}
