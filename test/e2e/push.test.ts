import type { RunningDemoServer } from '../support/demo-server.ts'
import { describe, expect, it } from 'vitest'
import { currentSlide, expectSlideFits, goToSlide } from '../support/deck.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

/** Screenshots of the push chapter's demo slides (gitignored): look at them. */
const shot = screenshots('push')

async function serverCount(demos: RunningDemoServer): Promise<number> {
  return ((await (await fetch(`${demos.url}/push/clients`)).json()) as { clients: number }).clients
}

describe('the push chapter\'s demo: WebSocket notifications', () => {
  const deck = useDeckSession({ demos: { connectBroker: false } })

  it('push: a notification reaches every view and the timeline; a closed view leaves the server\'s count at once; leaving the slide closes them all', async () => {
    const { page } = deck
    await goToSlide(page, 'Push a notification to every open view')
    const slide = currentSlide(page)
    await expect.poll(() => slide.getByTestId('ws-server-count').textContent(), { timeout: 10_000 }).toBe('3')
    expect(await serverCount(deck.demos)).toBe(3)

    await slide.getByTestId('ws-login').click()
    for (const v of ['A', 'B', 'C'])
      await expect.poll(() => slide.getByTestId(`ws-notes-${v}`).textContent()).toContain('just logged in')
    expect(await slide.locator('[data-lane="view B"] [data-testid="timeline-tick"]').count()).toBeGreaterThan(0)
    expect(await slide.locator('[data-lane="trigger"] [data-testid="timeline-bar"]').count()).toBe(1)

    await slide.getByTestId('ws-send').click()
    for (const v of ['A', 'B', 'C'])
      await expect.poll(() => slide.getByTestId(`ws-notes-${v}`).textContent()).toContain('hello from view A')

    await slide.getByTestId('ws-toggle-C').click()
    await expect.poll(() => slide.getByTestId('ws-server-count').textContent()).toBe('2')
    expect(await serverCount(deck.demos)).toBe(2)
    expect(await slide.getByTestId('ws-view-C').getAttribute('data-state')).toBe('closed')
    await shot(page, 'demo-websocket-push')
    await expectSlideFits(page)

    await goToSlide(page, 'The handshake, checked')
    await expect.poll(() => serverCount(deck.demos)).toBe(0)
    // The demos above, clicked through, logged no error and reached nothing off the machine.
    expect(deck.remoteRequests, 'requests that left the machine').toEqual([])
    expect(deck.errors, 'console errors').toEqual([])
  })
})
