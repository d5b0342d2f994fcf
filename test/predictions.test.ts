import type { Recording, StateSnapshot } from '../composables/replay.ts'
import type { Prediction } from '../wire/predictions.ts'
import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { applyChanges, stepEnd } from '../composables/replay.ts'
import { loadTalk } from '../scripts/talk-plan.ts'
import { PREDICTIONS, predictionFor } from '../wire/predictions.ts'
import { inRange } from '../wire/predictions/format.ts'

/**
 * The room's predictions (wire/predictions.ts): one for every demo slide of the main track, each
 * with 2-4 options and an answer computed from the demo's recorded state. Run on each demo's
 * committed recording (recordings/<id>.json, `final`), every answer is one definite option.
 */

const ROOT = new URL('../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8')
const recording = (id: string) => JSON.parse(read(`recordings/${id}.json`)) as Recording

/**
 * A demo component on a slide: `<PubSubDemo mode="fanout" />`, its name and attributes. Not
 * AudienceJoin: the join slide (in the main track, after the agenda) measures nothing to predict.
 */
const DEMO_TAG = /<([A-Z][A-Za-z0-9]*Demo|BrokerView|Audience(?!Join\b)[A-Z][A-Za-z]*)\b([^>]*)>/g

/**
 * The recording id a demo component on a slide records under: the first string its source hands
 * `recordable(` or `useClearableRun(demo, `, with `${props.x}` filled from the tag's attributes.
 */
function demoIdOf(component: string, attributes: string): string {
  const source = read(`components/${component}.vue`)
  const m = source.match(/(?:recordable|useClearableRun)\((?:demo, )?(['`])(.+?)\1/)
  if (!m)
    throw new Error(`components/${component}.vue: no recordable( or useClearableRun( id found`)
  return m[2]!.replace(/\$\{props\.(\w+)\}/g, (_, prop: string) => attributes.match(new RegExp(`\\b${prop}="([^"]*)"`))?.[1] ?? `<${prop}?>`)
}

let mainDemos: Array<{ slide: string, id: string }> = []

beforeAll(async () => {
  const { main } = await loadTalk(new URL('.', ROOT).pathname)
  mainDemos = main.flatMap(s => [...s.content.matchAll(DEMO_TAG)].map(([, component, attributes]) => ({ slide: s.title ?? '?', id: demoIdOf(component!, attributes!) })))
})

describe('the predictions', () => {
  it('ask one question on every demo slide of the main track, and none elsewhere', () => {
    expect(mainDemos.length).toBeGreaterThanOrEqual(16)
    expect(mainDemos.filter(d => !predictionFor(d.id)).map(d => `${d.slide} (${d.id})`), 'demo slides without a prediction').toEqual([])
    expect(Object.keys(PREDICTIONS).sort()).toEqual([...new Set(mainDemos.map(d => d.id))].sort())
  })

  it.each(Object.entries(PREDICTIONS))('%s: a question, 2-4 options with unique URL-safe ids and labels, the usual answer among them', (id, p: Prediction<any>) => {
    expect(p.demo).toBe(id)
    expect(p.question.trim()).toMatch(/\?$/)
    expect(p.options.length).toBeGreaterThanOrEqual(2)
    expect(p.options.length).toBeLessThanOrEqual(4)
    const ids = p.options.map(o => o.id)
    expect(new Set(ids).size, 'unique ids').toBe(ids.length)
    expect(new Set(p.options.map(o => o.label)).size, 'unique labels').toBe(ids.length)
    for (const o of p.options) {
      expect(o.id).toMatch(/^[a-z0-9-]{1,24}$/)
      expect(o.label.trim()).not.toBe('')
    }
    expect(ids).toContain(p.expected)
  })

  it.each(Object.keys(PREDICTIONS))('%s: answered from its recording\'s final state with one of its options, and a reason with the measured number', (id) => {
    const p = PREDICTIONS[id]!
    const rec = recording(id)
    const answer = p.answer(rec.final)
    expect(answer, 'the recorded run proves an option').not.toBeNull()
    expect(p.options.map(o => o.id)).toContain(answer)
    const reason = p.reason(rec.final)
    expect(reason).toMatch(/\d/)
    expect(reason).not.toMatch(/undefined|NaN|\[object/)
  })

  it.each(Object.keys(PREDICTIONS))('%s: no answer before the run (the state the recording starts from)', (id) => {
    // A recording's first state step sets every key as the slide showed it before the first click.
    const rec = recording(id)
    const first = Object.fromEntries(rec.states[0]!.set.map(([path, value]) => [path[0], value]))
    expect(PREDICTIONS[id]!.answer(first)).toBeNull()
  })

  it.each(Object.keys(PREDICTIONS))('%s: where its recording stops between steps, no answer yet or the end\'s (a learner never sees a verdict the next step turns round)', (id) => {
    const rec = recording(id)
    const p = PREDICTIONS[id]!
    const final = p.answer(rec.final)
    const clicks = [...new Set((rec.steps ?? []).map(m => m.click))].sort((a, b) => a - b).slice(0, -1)
    for (const click of clicks) {
      const end = stepEnd(rec, click)
      const state: StateSnapshot = {}
      for (const step of rec.states.filter(s => s.t < end))
        applyChanges(state, step.set)
      expect([null, final], `the answer where step ${click} stops (${end} ms into the run)`).toContain(p.answer(state))
    }
  })

  it('answers from what the run measured, not from the talk\'s notes: another measurement, another option', () => {
    // The usual run on a working laptop, then the same demo measured otherwise.
    const ping = (ms: number) => PREDICTIONS.ping!.answer({ pings: [{ n: 1, status: 200, ms, bytes: 40 }] })
    expect([ping(0.6), ping(4), ping(16), ping(250)]).toEqual(['lt1', '1-10', '10-100', '100-up'])
    const h2 = (h1Ms: number, h2Ms: number) => PREDICTIONS.http2!.answer({ runs: [
      { protocol: 'http/1.1', count: 10, tcpConnections: 6, totalMs: h1Ms, spans: [] },
      { protocol: 'h2', count: 10, tcpConnections: 1, totalMs: h2Ms, spans: [] },
    ] })
    expect([h2(2010, 1005), h2(2010, 2000), h2(1005, 2010)]).toEqual(['h2', 'same', 'h1'])
    const late = (c: number) => PREDICTIONS['pubsub-fanout']!.answer({ counter: 2, panels: [{ n: 4, name: 'late joiner', count: c, messages: [] }] })
    expect([late(0), late(1), late(2)]).toEqual([null, 'new-only', 'history'])
    // The SSE question is about a cut: a run that ended uncut answers nothing.
    const events = (ids: number[]) => ids.map(id => ({ kind: 'event', id: String(id) }))
    const sse = (connections: Array<{ n: number, lastEventId: string | null, lines: Array<{ kind: string, id?: string }> }>) => PREDICTIONS.sse!.answer({ stats: { finished: true, requests: 1 + connections.length, job: { version: 6 } }, connections })
    expect(sse([{ n: 1, lastEventId: null, lines: events([1, 2, 3, 4, 5, 6]) }])).toBeNull()
    expect(sse([{ n: 1, lastEventId: null, lines: events([1, 2]) }, { n: 2, lastEventId: '2', lines: events([3, 4, 5, 6]) }])).toBe('all-once')
  })
})

describe('inRange', () => {
  it('puts every number in exactly one range, the bounds in the upper one', () => {
    const ranges: Array<[string, number]> = [['a', 1], ['b', 10]]
    expect([-1, 0.99, 1, 9.99, 10, 1e9, Number.NaN].map(v => inRange(v, ranges, 'c'))).toEqual(['a', 'a', 'b', 'b', 'c', 'c', 'c'])
  })
})
