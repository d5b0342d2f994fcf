import type { Recording } from '../../composables/replay.ts'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { recordingShape } from '../support/recording-shape.ts'
import { recordDemos } from '../../scripts/record-demos.ts'
import { currentSlide, deckUrl, goToSlide } from '../support/deck.ts'
import { startDemoServer, waitFor } from '../support/demo-server.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

const DIR = new URL('../../recordings/', import.meta.url)
const shot = screenshots('recordings')

function committed(): Record<string, Recording> {
  return Object.fromEntries(readdirSync(DIR).filter(f => f.endsWith('.json')).map(f => [f.slice(0, -5), JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as Recording]))
}

describe('the committed recordings', () => {
  const w = useDeckSession({
    // Audience mode on, its listener on loopback: the audience demos are recorded with simulated phones, as `npm run record` does.
    demos: { audience: true, audienceHost: '127.0.0.1', audiencePort: 0 },
    ready: demos => waitFor(() => demos.ctx.broker.state === 'up', 'the broker connection'),
    // Going offline on purpose: the health checks and the deck's requests fail while it is down.
    ignoreErrors: [/ERR_CONNECTION_REFUSED/, /Failed to load resource/],
  })

  it('still match the demos: re-recorded now, each has the same traffic kinds per lane and the same final state shape', async () => {
    const { recordings, skipped } = await recordDemos({ deckUrl: deckUrl(), demoUrl: w.demos.url, browser: w.browser, rabbitmq: null })
    expect(skipped).toEqual({})
    const files = committed()
    // A demo without a recording, or a recording of a demo that is gone.
    expect(Object.keys(recordings).sort()).toEqual(Object.keys(files).sort())
    for (const [id, fresh] of Object.entries(recordings))
      expect(recordingShape(fresh), `recordings/${id}.json no longer matches the demo: run \`npm run record\``).toEqual(recordingShape(files[id]!))
  }, 600_000)

  it('take over when the demo server goes away, and live returns when it is back, without a reload', async () => {
    const { page } = w
    await goToSlide(page, 'The smallest conversation')
    const slide = currentSlide(page)
    const entries = slide.locator('[data-testid=timeline-bar], [data-testid=timeline-tick]')
    // Live: a ping crosses the wire.
    await slide.getByTestId('ping-button').click()
    await expect.poll(() => entries.count()).toBe(1)
    expect(await slide.getByTestId('demo-recorded').count()).toBe(0)

    // The server stops: the slide says so and offers the recording.
    const { port } = w.demos
    await w.demos.close()
    await expect.poll(() => slide.getByTestId('demo-offline').isVisible(), { timeout: 15_000 }).toBe(true)
    await slide.getByTestId('demo-replay').click()
    await expect.poll(() => slide.getByTestId('demo-recorded').textContent()).toMatch(/recorded \d{4}-\d\d-\d\d, not live/)
    expect(await slide.getByTestId('demo-offline').count()).toBe(0)
    // It plays one clicker step at a time, as the presenter ran it: the first ping, then it waits.
    const recorded = committed().ping!
    const recordedEntries = recorded.takes.at(-1)!.entries.length
    expect(recorded.steps?.map(s => s.click)).toEqual([1, 2])
    await expect.poll(() => slide.getByTestId('demo-next-step').textContent()).toMatch(/Step 2 of 2/)
    expect(await entries.count()).toBe(1)
    await slide.getByTestId('demo-next-step').click()
    await expect.poll(() => entries.count()).toBe(recordedEntries)
    await shot(page, 'ping-replayed')

    // The server is back: once the replay is over, "Go live" returns to the live demo.
    w.demos = await startDemoServer({ allowedOrigins: [deckUrl()], port })
    await expect.poll(() => slide.getByTestId('demo-go-live').isVisible(), { timeout: 15_000 }).toBe(true)
    await slide.getByTestId('demo-go-live').click()
    await expect.poll(() => slide.getByTestId('demo-recorded').count()).toBe(0)
    expect(await entries.count()).toBe(0) // a fresh timeline: nothing recorded is passed off as live
    await slide.getByTestId('ping-button').click()
    await expect.poll(() => entries.count()).toBe(1)
    await expect.poll(() => slide.locator('[data-testid=timeline-bar]').first().getAttribute('title')).toMatch(/GET \/ping → 200/)
    await shot(page, 'ping-live-again')
  })
})
