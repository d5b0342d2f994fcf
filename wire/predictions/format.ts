// Small pure helpers the predictions share: which range a number falls in, and numbers as a
// reason line prints them.

/**
 * The id of the first range `value` is below (`[id, below]`, in ascending order of `below`), else
 * `rest`: disjoint ranges that cover every number by construction. NaN falls to `rest`.
 */
export function inRange(value: number, ranges: Array<[id: string, below: number]>, rest: string): string {
  return ranges.find(([, below]) => value < below)?.[0] ?? rest
}

/** A duration for a reason line: `0.84 ms`, `8.1 ms`, `511 ms`, `2.01 s`. */
export function ms(value: number): string {
  if (value < 1)
    return `${value.toFixed(2)} ms`
  if (value < 10)
    return `${value.toFixed(1)} ms`
  if (value < 1000)
    return `${Math.round(value)} ms`
  return `${(value / 1000).toFixed(2)} s`
}

/** `1 request`, `7 requests`: `n` and its noun, plural unless n is 1. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`
}
