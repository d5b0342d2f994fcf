import type { Recording } from '../../composables/replay.ts'

/**
 * What must stay the same between two recordings of one demo for the older to still be true:
 * per timeline lane, the kinds of traffic in the order they first appeared (`request GET /jobs/#`,
 * `event ↓ progress`; numbers and ids read as `#`), and the final state's shape (keys, value
 * types, empty or not). Counts, times and bytes may differ from run to run; a renamed route, a new
 * kind of request or event, or a state key that comes or goes changes the shape.
 */
export interface RecordingShape {
  traffic: Record<string, string[]>
  final: unknown
}

/** Numbers, generated ids (`ryCIHqeO`, `amq.gen-…`) and quoted text in a label read the same in every run. */
export function normalizeLabel(label: string): string {
  return label
    .replace(/“[^”]*”/g, '“…”')
    // Ids the server makes at random (a job's 8 base64url characters, a webhook's msg_ id): by
    // their place, since a random one may have no digit and one case only.
    .replace(/\/jobs\/[\w-]+/g, '/jobs/#')
    .replace(/\bmsg_[\w-]+/g, 'msg_#')
    .replace(/[\w-]{6,}/g, t => /\d/.test(t) || (/[A-Z]/.test(t) && /[a-z]/.test(t)) ? '#' : t)
    .replace(/\d+(\.\d+)?/g, '#')
}

/** The shape (see RecordingShape) of a recording, or of the part of one that decides it. */
export function recordingShape(rec: Pick<Recording, 'takes' | 'final'>): RecordingShape {
  const traffic: Record<string, string[]> = {}
  const entries = rec.takes.flatMap(t => t.entries.map(e => ({ ...e, at: t.at + e.start })))
  entries.sort((a, b) => a.at - b.at)
  for (const e of entries) {
    const kinds = (traffic[e.lane] ??= [])
    const kind = `${e.kind} ${normalizeLabel(e.label)}`
    if (!kinds.includes(kind))
      kinds.push(kind)
  }
  return { traffic, final: shapeOf(rec.final) }
}

function shapeOf(value: unknown): unknown {
  if (Array.isArray(value))
    return value.length === 0 ? '[]' : [shapeOf(value[0])]
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shapeOf(v)]))
  return value === null ? 'null' : typeof value
}
