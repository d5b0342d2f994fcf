import type { Response } from 'express'
import type { DemoContext } from '../platform/context.ts'
import type { JobView } from '../../wire/jobs.ts'
import { jsonOf } from './index.ts'

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
