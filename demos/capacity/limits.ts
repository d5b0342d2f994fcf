import type { DemoContext } from '../platform/context.ts'
import type { CapacityMode } from '../../wire/capacity.ts'
import { readdirSync, readFileSync } from 'node:fs'
import { HttpError } from '../platform/http.ts'

/** File descriptors a run needs beyond one per connection: the job journal, the helper's pipes, the deck's own requests. */
export const FD_HEADROOM = 100

/** This process's open-file limits (RLIMIT_NOFILE) and how many files it has open. `Infinity` for "unlimited". */
export interface OpenFiles {
  soft: number
  hard: number
  open: number
}

/**
 * Reads RLIMIT_NOFILE from `/proc/self/limits` (Node has no `getrlimit`; it raises the soft limit to
 * the hard one at start-up, so a child it forks gets the hard limit too) and counts `/proc/self/fd`.
 * Undefined where there is no /proc (macOS): nothing is checked there.
 */
export function openFiles(): OpenFiles | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    if (!m)
      return undefined
    const limit = (v: string) => v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v)
    return { soft: limit(m[1]!), hard: limit(m[2]!), open: readdirSync('/proc/self/fd').length }
  }
  catch {
    return undefined
  }
}

/**
 * Refuses, with a 503 saying what to change, a run of `connections` that would not fit: past
 * `SSE_MAX_CLIENTS` (event streams), or past the demo server's open-file limit (one socket per
 * held connection, plus {@link FD_HEADROOM}), or past the hard limit the helper process inherits.
 */
export function checkRoom(ctx: DemoContext, mode: CapacityMode, connections: number, files = openFiles()): void {
  const { sseMaxClients } = ctx.config
  if (mode === 'sse' && ctx.eventStreams.size + connections > sseMaxClients)
    throw new HttpError(503, `${connections} more event streams would pass SSE_MAX_CLIENTS (${sseMaxClients}; ${ctx.eventStreams.size} open): start the demo server with SSE_MAX_CLIENTS=${connections + ctx.eventStreams.size}`)
  if (!files)
    return
  const need = files.open + connections + FD_HEADROOM
  if (need > files.soft)
    throw new HttpError(503, `${connections} held connections need about ${need} open files, and this demo server may have ${files.soft} (${files.open} open now; ulimit -n, which Node raises to the hard limit ${files.hard} by itself). Restart it from a shell with a higher limit: ulimit -n ${roundUp(need)} (raising the hard limit may need root: ulimit -Hn, or /etc/security/limits.conf)`)
  if (connections + FD_HEADROOM > files.hard)
    throw new HttpError(503, `the helper process would need ${connections + FD_HEADROOM} open files and may have ${files.hard} (the hard limit, ulimit -Hn): restart the demo server from a shell with a higher limit: ulimit -n ${roundUp(connections + FD_HEADROOM)}`)
}

/** A limit worth suggesting: `n` rounded up to a thousand. */
function roundUp(n: number): number {
  return Math.ceil(n / 1000) * 1000
}
