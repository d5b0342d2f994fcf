// Small real clients for the HTTP-pattern tests: JSON calls and a fetch-based SSE reader.
import type { SseFrame } from '../../wire/sse.ts'
import { readEventStream } from '../../wire/sse.ts'

export type { SseFrame }

export interface JsonResponse<T = any> {
  status: number
  headers: Headers
  body: T
}

/** A request with an optional JSON body; parses the JSON answer. */
export async function call<T = any>(url: string, init: { method?: string, json?: unknown, body?: string, headers?: Record<string, string>, signal?: AbortSignal } = {}): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers }
  let body = init.body
  if (init.json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(init.json)
  }
  const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, signal: init.signal })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: (res.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : text) as T }
}

/** Starts a job; returns its JSON (throws unless 202). */
export async function startJob(base: string, body: Record<string, unknown> = { durationMs: 500 }): Promise<{ id: string, version: number, updatedAt: number, finishedAt: number | null }> {
  const res = await call(`${base}/jobs`, { json: body })
  if (res.status !== 202)
    throw new Error(`POST /jobs answered ${res.status}: ${JSON.stringify(res.body)}`)
  return res.body
}

/**
 * Opens an event stream and calls `onFrame` for each frame as it arrives (read by
 * `readEventStream`: every frame, events or not). Resolves with every frame when the server
 * ends the stream, or when `onFrame` returns true (the stream is then cancelled). A response
 * that is not `text/event-stream` resolves with its text as `body` and no frames.
 */
export async function readSse(url: string, options: { headers?: Record<string, string>, onFrame?: (f: SseFrame) => boolean | void } = {}): Promise<{ status: number, headers: Headers, frames: SseFrame[], body?: string }> {
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...options.headers } })
  if (!res.headers.get('content-type')?.startsWith('text/event-stream'))
    return { status: res.status, headers: res.headers, frames: [], body: await res.text() }
  const frames: SseFrame[] = []
  await readEventStream(res.body!, (frame) => {
    frames.push(frame)
    return options.onFrame?.(frame)
  })
  return { status: res.status, headers: res.headers, frames }
}

export const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))
