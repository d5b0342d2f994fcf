import type { Recording } from '../composables/replay.ts'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { applyChanges, diff } from '../composables/replay.ts'
import { normalizeLabel, recordingShape } from './support/recording-shape.ts'

// The recorded runs the deck replays without a demo server (`npm run record` writes them; the
// e2e test test/e2e/recordings.test.ts checks they still match the demos).
const DIR = new URL('../recordings/', import.meta.url)
const files = readdirSync(DIR).filter(f => f.endsWith('.json')).sort()
/** Each file is bundled into the deck (and the static copy): a few kB, not a log dump. */
const MAX_FILE_BYTES = 20 * 1024
const MAX_TOTAL_BYTES = 200 * 1024

describe('committed recordings', () => {
  it('exist, one per demo, within the size budget', () => {
    expect(files.length).toBeGreaterThanOrEqual(20)
    let total = 0
    for (const f of files) {
      const bytes = readFileSync(new URL(f, DIR)).length
      total += bytes
      expect(bytes, `${f} is ${bytes} B`).toBeLessThanOrEqual(MAX_FILE_BYTES)
    }
    expect(total).toBeLessThanOrEqual(MAX_TOTAL_BYTES)
  })

  it.each(files)('%s says what, when and with what it was recorded, and its states add up to its final state', (f) => {
    const rec = JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as Recording
    expect(rec.format).toBe(1)
    expect(`${rec.demo}.json`).toBe(f)
    expect(Date.parse(rec.recordedAt)).not.toBeNaN()
    expect(Object.keys(rec.recordedWith)).toEqual(expect.arrayContaining(['chromium', 'node', 'rabbitmq', 'os', 'server']))
    expect(rec.durationMs).toBeGreaterThan(0)
    const entries = rec.takes.flatMap(t => t.entries)
    expect(entries.length).toBeGreaterThan(0)
    for (const e of entries) {
      expect(e).not.toHaveProperty('data')
      expect(e.end === undefined || e.end >= e.start).toBe(true)
    }
    // What a replay ends with is what the PDF shows.
    const state = {}
    for (const step of rec.states) applyChanges(state, step.set)
    expect(state).toEqual(rec.final)
  })
})

/**
 * The demos that record a run, read from their source: each `recordable(id, state, options)` (the id
 * may be a literal, a choice of literals or a template), its clicker steps (`onClicks({ 1: …, 2: … })`)
 * and the steps its recorded run takes (`options.steps`, default all of them).
 */
function recordedDemos(): Array<{ source: string, ids: string[], clicks: number }> {
  const demos = []
  for (const dir of ['../components/', '../composables/']) {
    const url = new URL(dir, import.meta.url)
    for (const f of readdirSync(url).filter(f => /\.(?:vue|ts)$/.test(f))) {
      const src = readFileSync(new URL(f, url), 'utf8')
      const call = src.match(/\.recordable\(([^,]+?),/)
      if (!call || !/onClicks\(/.test(src))
        continue
      const names = [...call[1]!.matchAll(/(['`])([^'`]+)\1/g)].map(m => new RegExp(`^${m[2]!.replace(/\$\{[^}]+\}/g, '[a-z0-9-]+')}\.json$`))
      const ids = files.filter(file => names.some(n => n.test(file))).map(file => file.replace(/\.json$/, ''))
      const keys = [...(src.match(/onClicks\(\{([^}]*)\}\)/)?.[1] ?? '').matchAll(/(\d+):/g)].length
      const chosen = src.slice(call.index, call.index! + 300).match(/steps: \[([\d, ]+)\]/)?.[1]?.split(',').length
      demos.push({ source: f, ids, clicks: chosen ?? keys })
    }
  }
  return demos
}

describe('recorded runs and the clicker', () => {
  const demos = recordedDemos()

  it('finds the demos that record (so the check below can fail)', () => {
    expect(demos.map(d => d.source)).toEqual(expect.arrayContaining(['SidecarDemo.vue', 'PushDemo.vue', 'AudienceRoom.vue', 'clearable-run.ts']))
    expect(demos.find(d => d.source === 'clearable-run.ts')?.clicks).toBe(1) // its recorded run is click 1 (steps: [1])
    expect(demos.find(d => d.source === 'AudienceRoom.vue')?.ids.sort()).toEqual(['audience-rabbitmq', 'audience-race', 'audience-room'])
    expect(demos.find(d => d.source === 'PubSubDemo.vue')?.ids.sort()).toEqual(['pubsub-fanout', 'pubsub-topic'])
  })

  // A replay plays one clicker step per click; a run recorded without its step marks plays whole on
  // the first click, and the learner sees the second step's answer before being asked to predict it.
  it.each(demos.filter(d => d.clicks > 1).flatMap(d => d.ids.map(id => [id, d.clicks] as const)))('%s marks each of its %i clicker steps', (id, clicks) => {
    const rec = JSON.parse(readFileSync(new URL(`${id}.json`, DIR), 'utf8')) as Recording
    expect(rec.steps, `recordings/${id}.json has no step marks: npm run record -- --only ${id}`).toHaveLength(clicks)
  })
})

describe('state diffs', () => {
  it('replay a change key by key, an append element by element, and a removed key as removed', () => {
    const a = { stats: { requests: 1, job: { id: 'x', state: 'running' } }, runs: [{ n: 1 }], gone: 1 }
    const b = { stats: { requests: 2, job: { id: 'x', state: 'done' } }, runs: [{ n: 1 }, { n: 2 }] }
    const changes = diff(a, b, [])
    expect(changes).toEqual([[['gone']], [['stats', 'requests'], 2], [['stats', 'job', 'state'], 'done'], [['runs', 1], { n: 2 }]])
    const state = JSON.parse(JSON.stringify(a))
    expect(applyChanges(state, changes).sort()).toEqual(['gone', 'runs', 'stats'])
    expect(state).toEqual(b)
  })

  it('send an array that shrank, whole', () => {
    expect(diff({ xs: [1, 2, 3] }, { xs: [3] }, [])).toEqual([[['xs'], [3]]])
  })
})

describe('recording shape', () => {
  it('reads generated ids and numbers the same in every run', () => {
    expect(normalizeLabel('GET /jobs/ryCIHqeO')).toBe(normalizeLabel('GET /jobs/mmnEmc-0'))
    // A random id may have no digit and one case only (about 1 run in 1,000 made one).
    expect(normalizeLabel('GET /jobs/abcdefgh/events')).toBe(normalizeLabel('GET /jobs/X1_b2-C3/events'))
    expect(normalizeLabel('POST /webhooks/partner msg_abcdefghijkl')).toBe(normalizeLabel('POST /webhooks/partner msg_Ab3-9xYzQw1K'))
    expect(normalizeLabel('POST /multiplexing/h1-run')).toBe('POST /multiplexing/#')
    expect(normalizeLabel('GET /sync-async/heartbeat')).toBe('GET /sync-async/heartbeat')
  })

  it('keeps per lane the kinds of traffic in the order they first appeared, and the final state\'s keys and types', () => {
    const e = (lane: string, label: string, start: number) => ({ id: start, lane, kind: 'request' as const, label, sentBytes: 0, receivedBytes: 0, start, end: start + 1 })
    const shape = recordingShape({
      takes: [{ at: 0, entries: [e('client', 'POST /jobs', 0), e('client', 'GET /jobs/aB3dE5fG', 5), e('client', 'GET /jobs/aB3dE5fG', 10)] }],
      final: { stats: { requests: 3, error: '' }, rows: [], runs: [{ ms: 1 }] },
    })
    expect(shape).toEqual({
      traffic: { client: ['request POST /jobs', 'request GET /jobs/#'] },
      final: { rows: '[]', runs: [{ ms: 'number' }], stats: { error: 'string', requests: 'number' } },
    })
  })
})
