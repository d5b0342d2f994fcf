import type { Browser, Page } from 'playwright-core'
import type { RunningDemoServer } from '../support/demo-server.ts'
import type { WatchedPage } from '../support/browser.ts'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openWatchedPage } from '../support/browser.ts'
import { currentSlide, goToSlide, openDeck, deckUrl } from '../support/deck.ts'
import { startDemoServer } from '../support/demo-server.ts'

/** Screenshots of these chapters' slides (gitignored): look at them. */
const SHOTS = join(import.meta.dirname, '../../test-results/talk')

/** The content slides of the chapters this file covers (client-server, protocols, sync/async, push, monolith, recap). */
const SLIDES = [
  'Layers organise code, tiers place it',
  'Django\'s MVT: three layers, how many tiers?',
  '2-tier, 3-tier, N-tier',
  'Client and server',
  'Thin and thick clients',
  'Format, order, errors',
  'Same subnet or not: layer 2 or layer 3',
  'Keep the app and its database one hop apart',
  'Who is the default gateway, really?',
  'The caller blocks, or keeps working',
  'Synchronous I/O, down in the OS',
  'Asynchronous I/O: three ways to wait',
  'Synchronicity belongs to the client',
  'One event loop, one thread for your code',
  'The same work on a worker thread',
  'Async is everywhere',
  'When the server has the news',
  'WebSocket: HTTP that changes protocol',
  'The handshake, checked',
  'Pushing to every view',
  'Push: what it gives, what it costs',
  'RabbitMQ pushes too',
  'A monolith is a deployment choice',
  'Draw boundaries around business capabilities',
  'Each boundary owns its data',
  'From calls to messages',
  'Which pattern, when',
  'References',
  'Thank you',
]

const slug = (title: string) => title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')

/** How far the current slide's content sticks out of the 16:9 canvas, or '' if it fits. */
async function overflow(page: Page, no: number): Promise<string> {
  return page.evaluate((n) => {
    const layout = document.querySelector(`.slidev-page-${n} .slidev-layout`) as HTMLElement | null
    if (!layout)
      return 'no .slidev-layout'
    const dy = layout.scrollHeight - layout.clientHeight
    const dx = layout.scrollWidth - layout.clientWidth
    return dy > 4 || dx > 4 ? `overflows by ${dx}px x ${dy}px` : ''
  }, no)
}

async function serverCount(demos: RunningDemoServer): Promise<number> {
  return ((await (await fetch(`${demos.url}/push/clients`)).json()) as { clients: number }).clients
}

describe('the talk chapters around the patterns: sync/async and push demos, and every slide fits', () => {
  let browser: Browser
  let demos: RunningDemoServer
  let w: WatchedPage

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    demos = await startDemoServer({ allowedOrigins: [deckUrl()], connectBroker: false })
    browser = await launchBrowser()
    w = await openWatchedPage(browser)
    await openDeck(w.page, demos.url)
  })
  afterAll(async () => {
    await browser?.close()
    await demos?.close()
  })

  it('sync vs async: the heartbeat jumps while the loop computes and stays flat while a worker thread computes', async () => {
    const { page } = w
    await goToSlide(page, 'Block the loop, or hand the work to a thread')
    const slide = currentSlide(page)
    // Heartbeats flow as soon as the slide is shown.
    await expect.poll(() => slide.getByTestId('sa-heartbeat-last').textContent(), { timeout: 10_000 }).toMatch(/\d+ ms/)
    await expect.poll(() => slide.locator('[data-lane="heartbeat"] [data-testid="timeline-bar"]').count()).toBeGreaterThan(5)

    await slide.getByTestId('sa-blocking-button').click()
    await expect.poll(() => slide.getByTestId('sa-result-blocking').getAttribute('data-worst'), { timeout: 10_000 }).toBeTruthy()
    const blockedWorst = Number(await slide.getByTestId('sa-result-blocking').getAttribute('data-worst'))
    await page.screenshot({ path: join(SHOTS, 'demo-sync-async-blocking.png') })

    await slide.getByTestId('sa-worker-button').click()
    await expect.poll(() => slide.getByTestId('sa-result-worker').getAttribute('data-worst'), { timeout: 10_000 }).toBeTruthy()
    const workerWorst = Number(await slide.getByTestId('sa-result-worker').getAttribute('data-worst'))
    await page.screenshot({ path: join(SHOTS, 'demo-sync-async-worker.png') })

    expect(blockedWorst, 'worst heartbeat while the loop was blocked').toBeGreaterThan(200)
    expect(workerWorst, 'worst heartbeat while the worker computed').toBeLessThan(100)
    expect(await slide.locator('[data-lane="blocking"] [data-testid="timeline-bar"]').count()).toBeGreaterThan(0)
    expect(await slide.locator('[data-lane="worker"] [data-testid="timeline-bar"]').count()).toBeGreaterThan(0)
    expect(await overflow(page, await page.evaluate(() => (window as any).__slidev__.nav.currentSlideNo as number))).toBe('')
  })

  it('push: a notification reaches every view and the timeline; a closed view leaves the server\'s count at once; leaving the slide closes them all', async () => {
    const { page } = w
    await goToSlide(page, 'Push a notification to every open view')
    const slide = currentSlide(page)
    await expect.poll(() => slide.getByTestId('ws-server-count').textContent(), { timeout: 10_000 }).toBe('3')
    expect(await serverCount(demos)).toBe(3)

    await slide.getByTestId('ws-login').click()
    for (const v of ['A', 'B', 'C'])
      await expect.poll(() => slide.getByTestId(`ws-notes-${v}`).textContent()).toContain('just logged in')
    expect(await slide.locator('[data-lane="view B"] [data-testid="timeline-tick"]').count()).toBeGreaterThan(0)
    expect(await slide.locator('[data-lane="trigger"] [data-testid="timeline-bar"]').count()).toBe(1)

    await slide.getByTestId('ws-send').click()
    for (const v of ['A', 'B', 'C'])
      await expect.poll(() => slide.getByTestId(`ws-notes-${v}`).textContent()).toContain('hello from view A')

    await slide.getByTestId('ws-toggle-C').click()
    await expect.poll(() => slide.getByTestId('ws-server-count').textContent(), { timeout: 2000 }).toBe('2')
    expect(await serverCount(demos)).toBe(2)
    expect(await slide.getByTestId('ws-view-C').getAttribute('data-state')).toBe('closed')
    await page.screenshot({ path: join(SHOTS, 'demo-websocket-push.png') })
    expect(await overflow(page, await page.evaluate(() => (window as any).__slidev__.nav.currentSlideNo as number))).toBe('')

    await goToSlide(page, 'The handshake, checked')
    await expect.poll(() => serverCount(demos), { timeout: 3000 }).toBe(0)
  })

  it('every slide of these chapters renders without overflowing the 16:9 canvas', async () => {
    const { page } = w
    const problems: string[] = []
    for (const [i, title] of SLIDES.entries()) {
      const no = await goToSlide(page, title)
      await page.screenshot({ path: join(SHOTS, `${String(i + 1).padStart(2, '0')}-${slug(title)}.png`) })
      const over = await overflow(page, no)
      if (over)
        problems.push(`"${title}" (slide ${no}): ${over}`)
      const mermaidErrors = await page.locator(`.slidev-page-${no} .mermaid`).evaluateAll(els => els.filter(e => /error/i.test(e.textContent ?? '') && !e.querySelector('svg g')).length)
      if (mermaidErrors)
        problems.push(`"${title}" (slide ${no}): mermaid diagram failed to render`)
    }
    expect(problems).toEqual([])
    expect(w.remoteRequests, 'requests that left the machine').toEqual([])
    expect(w.errors, 'console errors').toEqual([])
  })
})
