import type { RunningDemoServer } from '../support/demo-server.ts'
import { describe, expect, it } from 'vitest'
import { currentSlide, expectSlideFits, goToSlide } from '../support/deck.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

/** Screenshots of these chapters' demo slides (gitignored): look at them. */
const shot = screenshots('talk')

async function serverCount(demos: RunningDemoServer): Promise<number> {
  return ((await (await fetch(`${demos.url}/push/clients`)).json()) as { clients: number }).clients
}

describe('the talk chapters around the patterns: sync/async and push demos', () => {
  const deck = useDeckSession({ demos: { connectBroker: false } })

  it('sync vs async: the loop answers nothing while it computes, and keeps answering while a worker thread computes', async () => {
    const { page } = deck
    await goToSlide(page, 'Block the loop, or hand the work to a thread')
    const slide = currentSlide(page)
    // Heartbeats flow as soon as the slide is shown.
    await expect.poll(() => slide.getByTestId('sa-heartbeat-last').textContent(), { timeout: 10_000 }).toMatch(/\d+ ms/)
    await expect.poll(() => slide.locator('[data-lane="heartbeat"] [data-testid="timeline-bar"]').count()).toBeGreaterThan(5)

    /** Runs one variant from the slide; returns what the server reported, as the table shows it. */
    async function run(variant: 'blocking' | 'worker'): Promise<{ cpu: number, loopDelay: number, heartbeats: number }> {
      const row = slide.getByTestId(`sa-result-${variant}`)
      await slide.getByTestId(`sa-${variant}-button`).click()
      await expect.poll(() => row.getAttribute('data-loop-delay'), { timeout: 15_000 }).toBeTruthy()
      await shot(page, `demo-sync-async-${variant}`)
      const attr = async (name: string) => Number(await row.getAttribute(name))
      return { cpu: await attr('data-cpu'), loopDelay: await attr('data-loop-delay'), heartbeats: await attr('data-heartbeats') }
    }
    const blocked = await run('blocking')
    const offloaded = await run('worker')
    // What the table says, measured on the server (a busy laptop stretches both runs alike):
    // on the loop, not one heartbeat answered and the loop late by all of the work;
    expect(blocked.heartbeats).toBe(0)
    expect(blocked.loopDelay, `loop delay during ${blocked.cpu} ms on the loop`).toBeGreaterThanOrEqual(blocked.cpu - 20)
    // on the worker, the slide's heartbeats kept being answered and the loop stayed nearly on time.
    expect(offloaded.heartbeats, `heartbeats answered during ${offloaded.cpu} ms on the worker`).toBeGreaterThanOrEqual(1)
    expect(offloaded.loopDelay).toBeLessThan(blocked.loopDelay / 2)
    expect(await slide.locator('[data-lane="blocking"] [data-testid="timeline-bar"]').count()).toBeGreaterThan(0)
    expect(await slide.locator('[data-lane="worker"] [data-testid="timeline-bar"]').count()).toBeGreaterThan(0)
    await expectSlideFits(page)
  })

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
