// Small real clients for the HTTP-pattern tests: JSON calls and a fetch-based SSE reader.
import type { SseFrame } from '../../composables/sse-parse.ts'
import { parseFrame } from '../../composables/sse-parse.ts'

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
 * Opens an event stream and calls `onFrame` for each frame as it arrives. Resolves with every
 * frame when the server ends the stream, or when `stop` (return true from onFrame) aborts it.
 */
export async function readSse(url: string, options: { headers?: Record<string, string>, onFrame?: (f: SseFrame) => boolean | void } = {}): Promise<{ status: number, headers: Headers, frames: SseFrame[], body?: string }> {
  const controller = new AbortController()
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...options.headers }, signal: controller.signal })
  if (!res.headers.get('content-type')?.startsWith('text/event-stream'))
    return { status: res.status, headers: res.headers, frames: [], body: await res.text() }
  const frames: SseFrame[] = []
  const decoder = new TextDecoder()
  let buffer = ''
  const reader = res.body!.getReader()
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done)
        break
      buffer += decoder.decode(value, { stream: true })
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const frame = parseFrame(buffer.slice(0, end))
        buffer = buffer.slice(end + 2)
        frames.push(frame)
        if (options.onFrame?.(frame)) {
          controller.abort()
          return { status: res.status, headers: res.headers, frames }
        }
        end = buffer.indexOf('\n\n')
      }
    }
  }
  catch (err) {
    if (!controller.signal.aborted)
      throw err
  }
  return { status: res.status, headers: res.headers, frames }
}

export const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))
