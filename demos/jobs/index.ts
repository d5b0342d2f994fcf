import type { Request } from 'express'
import type { JobStore } from './store.ts'
import type { JobView } from '../../wire/jobs.ts'
import { HttpError } from '../platform/http.ts'
import { JournalError } from './journal.ts'
import { DURATION_MAX_MS, DURATION_MIN_MS, StoreFullError } from './store.ts'

export type { JobOptions } from './store.ts'
export { JobStore } from './store.ts'

/** The job named in `req.params.id`, or a 404 naming it. */
export function findJob(store: JobStore, req: Request): JobView {
  return jobById(store, String(req.params.id))
}

/** Job `id`, or a 404 naming it (unknown or expired). */
export function jobById(store: JobStore, id: string): JobView {
  const job = store.get(id)
  if (!job)
    throw new HttpError(404, `no job ${id} (unknown or expired)`)
  return job
}

/**
 * Validates `{"durationMs": n, "fail"?: true, "failAt"?: percent}` and creates the job:
 * 400 naming the problem for anything else, 429 when the store is full of running jobs, 503 when
 * the jobs database cannot be written right now (see `createRefusal`).
 */
export function createJob(store: JobStore, body: unknown): JobView {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'expected a JSON object like {"durationMs": 3000} (Content-Type: application/json)')
  const { durationMs, fail, failAt } = body as Record<string, unknown>
  if (typeof durationMs !== 'number' || !Number.isInteger(durationMs) || durationMs < DURATION_MIN_MS || durationMs > DURATION_MAX_MS)
    throw new HttpError(400, `durationMs must be an integer between ${DURATION_MIN_MS} and ${DURATION_MAX_MS}`)
  if (fail !== undefined && typeof fail !== 'boolean')
    throw new HttpError(400, 'fail must be true or false')
  if (failAt !== undefined && (typeof failAt !== 'number' || !(failAt > 0 && failAt <= 100)))
    throw new HttpError(400, 'failAt must be a progress percentage between 1 and 100')
  try {
    return store.create(durationMs, typeof failAt === 'number' ? failAt : fail ? 60 : undefined)
  }
  catch (err) {
    throw createRefusal(err)
  }
}

/**
 * The answer to an error of `JobStore.create`: a 429 (Retry-After: 5) when the store is full of
 * running jobs, a 503 (Retry-After: 2) when the jobs database cannot be written right now (locked
 * past its busy timeout, disk full); any other error as it is.
 */
export function createRefusal(err: unknown): unknown {
  if (err instanceof StoreFullError)
    return new HttpError(429, err.message, { 'Retry-After': '5' })
  if (err instanceof JournalError)
    return new HttpError(503, `${err.message}; try again in a moment`, { 'Retry-After': '2' })
  return err
}

const serialized = new WeakMap<JobView, string>()

/**
 * `JSON.stringify(view)`, computed once per view object (remembered weakly): one change hands the
 * same view to every watcher, so 10,000 long polls woken by it share one string.
 */
export function jsonOf(view: JobView): string {
  let json = serialized.get(view)
  if (json === undefined)
    serialized.set(view, json = JSON.stringify(view))
  return json
}
