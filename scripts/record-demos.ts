// Drives the deck through every recordable demo: runs each one on its slide, in a real browser,
// through the same component code the talk runs (composables/demo.ts `recordable`; the audience
// demos with simulated phones, tools/audience-phones.ts, in the room), and collects
// the runs (composables/replay.ts `Recording`, what the deck replays). `npm run record`
// (scripts/record.ts, the command line) writes them to recordings/; test/e2e/recordings.test.ts
// re-records them and compares their shape (test/support/recording-shape.ts) with the committed files.
import type { Browser, Page } from 'playwright-core'
import type { RecordableDemo } from '../composables/demo.ts'
import type { Recording } from '../composables/replay.ts'
import type { RecordedRun } from '../composables/replay-mode.ts'
import type { SimulatedPhones } from '../tools/audience-phones.ts'
import { readFileSync } from 'node:fs'
import { cpus, arch, release, type } from 'node:os'
import { startSimulatedPhones } from '../tools/audience-phones.ts'
import { waitForDeckLoaded } from '../tools/deck.ts'

/** Where and with what a run was recorded (Recording.recordedWith). */
export interface RecordingHost {
  chromium: string
  rabbitmq: string | null
}

export interface RecordOptions {
  /** Origin of a Slidev server for the deck (dev or build). */
  deckUrl: string
  /** The demo server the deck talks to. */
  demoUrl: string
  browser: Browser
  /** The RabbitMQ version the demo server talks to, null if none. */
  rabbitmq: string | null
  /** Only these demo ids. Default: every recordable demo of the deck. */
  only?: string[]
  /** Called as each demo starts and ends (progress output). */
  onProgress?: (id: string, what: 'start' | 'done' | 'skipped', detail?: string) => void
  /** How long a demo may take to get ready (streams open, broker queues bound), ms. Default 30 000. */
  readyTimeoutMs?: number
}

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

/** The audience-mode demos (the room's phones): simulated phones join for them. */
const AUDIENCE_DEMO = /^audience-/
/** The Join slide: its run is the phones joining, so they join once its recording has begun. */
const JOIN_DEMO = 'audience-join'
/** Simulated phones in the recorded room: three per transport. */
export const RECORDED_PHONES = 12

/**
 * Opens the deck at `deckUrl` (talking to `demoUrl`), waits until every slide has loaded, then
 * goes to each recordable demo's slide in turn and records one run (its script: the clicker
 * steps). Resolves with the recordings by demo id, and the ids skipped because the demo never got
 * ready (e.g. RabbitMQ down), with the reason. Throws if the deck has no recordable demo.
 */
export async function recordDemos(options: RecordOptions): Promise<{ recordings: Record<string, Recording>, skipped: Record<string, string> }> {
  const { deckUrl, demoUrl, browser, readyTimeoutMs = 30_000 } = options
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
  const page = await context.newPage()
  const recordings: Record<string, Recording> = {}
  const skipped: Record<string, string> = {}
  let phones: SimulatedPhones | undefined
  try {
    await page.goto(`${deckUrl}/1?demo=${encodeURIComponent(demoUrl)}&replay=0`)
    // Every demo registers its slide as Slidev mounts it, a few seconds after the deck opens.
    await waitForDeckLoaded(page, { diagrams: false, timeoutMs: 120_000 })
    const slides = await page.evaluate(() => ({ ...window.__wireDemoSlides__ }))
    const ids = Object.keys(slides).filter(id => !options.only || options.only.includes(id)).sort((a, b) => slides[a]! - slides[b]!)
    if (!ids.length)
      throw new Error(`no recordable demo found in the deck at ${deckUrl}${options.only ? ` among ${options.only.join(', ')}` : ''}`)
    for (const id of ids) {
      options.onProgress?.(id, 'start')
      // The room's phones, simulated: before an audience demo gets ready (the Join slide's run is them joining).
      if (AUDIENCE_DEMO.test(id) && id !== JOIN_DEMO)
        phones ??= await startSimulatedPhones(demoUrl, RECORDED_PHONES)
      await page.evaluate(no => (window as any).__slidev__.nav.go(no), slides[id])
      const ready = await page.waitForFunction(demo => window.__wireDemos__?.[demo]?.ready(), id, { timeout: readyTimeoutMs, polling: 100 })
        .then(() => true, () => false)
      if (!ready) {
        skipped[id] = `not ready within ${readyTimeoutMs / 1000} s (demo server or RabbitMQ not reachable?)`
        options.onProgress?.(id, 'skipped', skipped[id])
        continue
      }
      let run: RecordedRun
      if (id === JOIN_DEMO && !phones) {
        const recording = record(page, id)
        phones = await startSimulatedPhones(demoUrl, RECORDED_PHONES)
        run = await recording
      }
      else {
        run = await record(page, id)
      }
      recordings[id] = {
        format: 1,
        demo: id,
        recordedAt: new Date().toISOString(),
        recordedWith: {
          chromium: browser.version(),
          node: process.version,
          rabbitmq: options.rabbitmq,
          os: `${type()} ${release()} ${arch()}`,
          cpu: `${cpus()[0]?.model.trim() ?? 'unknown'} ×${cpus().length}`,
          server: `wire-patterns ${pkg.version}`,
          // The room: simulated phones (tools/audience-devices.ts), named in the frame.
          ...(AUDIENCE_DEMO.test(id) ? { phones: `${RECORDED_PHONES} simulated phones on loopback` } : {}),
        },
        durationMs: run.durationMs,
        // When each clicker step began: the replay plays one per click.
        ...(run.steps && run.steps.length > 1 ? { steps: run.steps } : {}),
        takes: run.takes,
        states: run.states,
        final: run.final,
      }
      options.onProgress?.(id, 'done')
    }
  }
  finally {
    await phones?.stop()
    await context.close()
  }
  return { recordings, skipped }
}

/** One run of demo `id`, live on the page (its slide showing, the demo ready). */
function record(page: Page, id: string): Promise<RecordedRun> {
  return page.evaluate(demo => (window.__wireDemos__![demo] as RecordableDemo).record(), id)
}

/** A recording as the file holds it: one line per take entry and state step, so a diff shows what changed. */
export function formatRecording(rec: Recording): string {
  const { takes, states, ...head } = rec
  const lines = JSON.stringify(head, null, 2).split('\n')
  lines.pop() // the closing brace
  const tail: string[] = []
  tail.push(`  "takes": [${takes.map(t => `\n    { "at": ${t.at}, "entries": [${t.entries.map(e => `\n      ${JSON.stringify(e)}`).join(',')}\n    ] }`).join(',')}\n  ],`)
  tail.push(`  "states": [${states.map(s => `\n    ${JSON.stringify(s)}`).join(',')}\n  ]`)
  return `${lines.join('\n')},\n${tail.join('\n')}\n}\n`
}
