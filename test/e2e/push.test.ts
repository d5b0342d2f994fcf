import type { RunningDemoServer } from '../support/demo-server.ts'
import { describe, expect, it } from 'vitest'
import { currentSlide, expectSlideFits, goToSlide } from '../support/deck.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

/** Screenshots of the push and webhooks chapters' demo slides (gitignored): look at them. */
const shot = screenshots('push')

async function serverCount(demos: RunningDemoServer): Promise<number> {
  return ((await (await fetch(`${demos.url}/push/clients`)).json()) as { clients: number }).clients
}

describe('the push and webhooks chapters\' demos', () => {
  // "Forge one" gets the 401 it is meant to get; Chromium logs every 4xx it fetched.
  const deck = useDeckSession({ demos: { connectBroker: false }, ignoreErrors: [/status of 401/] })

  it('push: the clicker publishes a video to every tab with no request from them, then tab A talks back; a closed tab leaves the server\'s count at once; leaving the slide closes them all', async () => {
    const { page } = deck
    await goToSlide(page, 'Push: every open tab hears it at once')
    const slide = currentSlide(page)
    await expect.poll(() => slide.getByTestId('ws-server-count').textContent(), { timeout: 10_000 }).toBe('3')
    expect(await serverCount(deck.demos)).toBe(3)
    expect(await slide.getByTestId('demo-predict').textContent()).toContain('how many requests do the three tabs send')
    await shot(page, 'demo-websocket-push-0')

    await page.keyboard.press('ArrowRight') // click 1: the transcode is done
    for (const v of ['A', 'B', 'C'])
      await expect.poll(() => slide.getByTestId(`ws-notes-${v}`).textContent()).toContain('is out')
    await expect.poll(() => slide.getByTestId('ws-frames-in').textContent()).toBe('3')
    expect(await slide.getByTestId('ws-tab-requests').textContent()).toBe('0')
    // The prediction's reveal, measured live: no request from the tabs, the option marked.
    await expect.poll(() => slide.getByTestId('prediction-reveal').getAttribute('data-answer')).toBe('0')
    expect(await slide.locator('[data-testid=prediction-option][data-proved]').textContent()).toContain('none')
    expect(await slide.getByTestId('prediction-reason').textContent()).toMatch(/^No request from the tabs: 3 open WebSockets/)
    expect(await slide.getByTestId('ws-latency').textContent()).toMatch(/^\d+ ms$/)
    expect(await slide.locator('[data-lane="tab B"] [data-testid="timeline-tick"]').count()).toBeGreaterThan(0)
    expect(await slide.locator('[data-lane="transcoder"] [data-testid="timeline-bar"]').count()).toBe(1)

    await page.keyboard.press('ArrowRight') // click 2: tab A sends up its own socket
    for (const v of ['A', 'B', 'C'])
      await expect.poll(() => slide.getByTestId(`ws-notes-${v}`).textContent()).toContain('tab A: congrats!')
    await shot(page, 'demo-websocket-push-2')

    await slide.getByTestId('ws-toggle-C').click()
    await expect.poll(() => slide.getByTestId('ws-server-count').textContent()).toBe('2')
    expect(await serverCount(deck.demos)).toBe(2)
    expect(await slide.getByTestId('ws-view-C').getAttribute('data-state')).toBe('closed')
    await expectSlideFits(page)

    await goToSlide(page, 'The handshake, checked')
    await expect.poll(() => serverCount(deck.demos)).toBe(0)
    expect(deck.remoteRequests, 'requests that left the machine').toEqual([])
    expect(deck.errors, 'console errors').toEqual([])
  })

  it('webhooks: the clicker sends a webhook the partner refuses twice (three attempts, one video), then the same id again (acknowledged, ignored); a forged one is refused', async () => {
    const { page } = deck
    await goToSlide(page, 'A webhook that has to retry')
    const slide = currentSlide(page)
    expect(await slide.getByTestId('demo-predict').textContent()).toContain('how often is the video published')
    for (const stat of ['wh-attempts', 'wh-delivered', 'wh-duplicates', 'wh-refused'])
      expect(await slide.getByTestId(stat).textContent(), stat).toBe('0')
    await shot(page, 'demo-webhooks-0')

    await page.keyboard.press('ArrowRight') // click 1: send, the partner is down for two tries
    await expect.poll(() => slide.getByTestId('wh-delivered').textContent(), { timeout: 10_000 }).toBe('1')
    expect(await slide.getByTestId('wh-attempts').textContent()).toBe('3')
    const statuses = await slide.getByTestId('wh-attempts-list').locator('[data-status]').evaluateAll(els => els.map(e => e.getAttribute('data-status')))
    expect(statuses).toEqual(['503', '503', '200'])
    expect(await slide.locator('[data-lane="Reelbox (sender)"] [data-testid="timeline-bar"]').count()).toBe(3)
    expect(await slide.getByTestId('wh-headers').textContent()).toMatch(/webhook-signature:\s*v1,/)
    await shot(page, 'demo-webhooks-1')

    await page.keyboard.press('ArrowRight') // click 2: the same id again
    await expect.poll(() => slide.getByTestId('wh-duplicates').textContent(), { timeout: 10_000 }).toBe('1')
    expect(await slide.getByTestId('wh-attempts').textContent()).toBe('4')
    expect(await slide.getByTestId('wh-delivered').textContent()).toBe('1')
    const partner = await (await fetch(`${deck.demos.url}/webhooks/partner`)).json() as { processed: unknown[], duplicates: number }
    expect(partner).toMatchObject({ duplicates: 1 })
    expect(partner.processed).toHaveLength(1)
    // Sent again, published once: the prediction's answer, from the run.
    await expect.poll(() => slide.getByTestId('prediction-reveal').getAttribute('data-answer')).toBe('1')
    expect(await slide.getByTestId('prediction-reason').textContent()).toContain('Published once: 3 POSTs (503, 503, 200)')

    await slide.getByTestId('wh-forge').click()
    await expect.poll(() => slide.getByTestId('wh-refused').textContent()).toBe('1')
    expect(await slide.getByTestId('wh-delivered').textContent()).toBe('1')
    await shot(page, 'demo-webhooks-2')
    await expectSlideFits(page)
    expect(deck.remoteRequests, 'requests that left the machine').toEqual([])
    expect(deck.errors, 'console errors').toEqual([])
  })
})
