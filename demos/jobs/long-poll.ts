import type { Request, Response } from 'express'
import type { DemoContext } from '../platform/context.ts'
import type { JobView } from '../../wire/jobs.ts'
import { forgetRouting, HttpError } from '../platform/http.ts'
import { jsonOf } from './index.ts'

/**
 * Holds a long poll on `job` (`GET /jobs/:id?wait=`): answered with the job when it changes, or
 * as it is after `waitS` seconds, or at shutdown, whichever comes first (`X-Long-Poll` says which).
 */
export function holdPoll(ctx: DemoContext, res: Response, job: JobView, waitS: number): void {
  const { jobs } = ctx
  // #region hold
  const latest = () => jobs.get(job.id) ?? job
  const answer = holdResponse(ctx, res, latest, release) // answers once
  // Wake up on the event: the store calls us when the job changes...
  const unwatch = jobs.watch(job.id, e => answer(e.data, 'changed'))
  // ...or when the wait is over, whichever comes first.
  const timer = setTimeout(() => answer(latest(), 'timeout'), waitS * 1000)
  function release() { // answered, or the client left
    clearTimeout(timer)
    unwatch()
  }
  // #endregion hold
}

/** `?wait=<s>&since=<version>`: `wait` in seconds 0..`maxWaitS`, `since` a job version; 400 naming the bad one. */
export function waitParams(query: Request['query'], maxWaitS: number): { waitS: number, since: number | undefined } {
  return { waitS: seconds(query.wait, maxWaitS), since: version(query.since) }
}

/** `wait` in seconds, 0..max; anything else is a 400. */
function seconds(raw: unknown, max: number): number {
  const n = typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN
  if (!(n >= 0 && n <= max))
    throw new HttpError(400, `wait must be a number of seconds between 0 and ${max}`)
  return n
}

function version(raw: unknown): number | undefined {
  if (raw === undefined)
    return undefined
  if (typeof raw !== 'string' || !/^\d+$/.test(raw))
    throw new HttpError(400, 'since must be a job version (a non-negative integer)')
  return Number(raw)
}

/** Why a held poll was answered; sent as `X-Long-Poll`. */
export type WakeReason = 'changed' | 'timeout' | 'shutdown'

/** Answers a held poll with `view`, saying why (`X-Long-Poll`); only the first call answers. */
export type Answer = (view: JobView, why: WakeReason) => void

/**
 * Holds `res` for a long poll and returns the function that answers it. The first call answers
 * (a change, the timer, or shutdown, whichever comes first); later calls do nothing. `release`
 * runs when it answered or when the client left (the response's `close`), so the caller's timer
 * and listener never outlive the request. Shutdown answers with `current()` and ends it.
 * Production detail kept here, out of the route: the once-only guard, the registration with the
 * lifecycle, and a body serialized once for every poll the same change wakes (res.json would also
 * hash an ETag for each of them).
 */
export function holdResponse(ctx: DemoContext, res: Response, current: () => JobView, release: () => void): Answer {
  forgetRouting(res) // held: Express's router state for the next handler is not needed
  // #region answer
  let answered = false
  const onShutdown = () => answer(current(), 'shutdown')
  const unhold = ctx.lifecycle.hold(res, onShutdown)
  function answer(view: JobView, why: WakeReason): void {
    if (answered)
      return // a second wake-up: already answered
    answered = true
    release()
    unhold()
    sendShared(res, view, why)
  }
  res.once('close', release) // the client left first
  return answer
  // #endregion answer
}

/** The job as JSON, serialized once per view however many polls it answers. */
function sendShared(res: Response, view: JobView, why: WakeReason): void {
  res.setHeader('X-Long-Poll', why)
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.end(jsonOf(view))
}
