/**
 * Epoch milliseconds with sub-millisecond precision (`performance.timeOrigin + performance.now()`),
 * rounded to 0.01 ms. The one clock of the project: the server stamps changes with it, and the deck,
 * the tests and the bench measure against those stamps with the same function (Node and browsers
 * share the wall clock of one machine; `Date.now()` alone would round to whole milliseconds).
 */
export function epochMs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 100) / 100
}
