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
  'What another tier buys, and what it costs',
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
  'The worker thread, and its limits',
  'Async is everywhere',
  'When the server has the news',
  'WebSocket: HTTP that changes protocol',
  'The handshake, checked',
  'Pushing to every view',
  'Something happened: push it',
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

/**
 * What sticks out of slide `no`'s 16:9 canvas, or '' if everything fits: the layout must not
 * scroll, and no element (Mermaid's SVGs live in shadow roots: included) may reach past its edges.
 */
async function overflow(page: Page, no: number): Promise<string> {
  return page.evaluate((n) => {
    const layout = document.querySelector(`.slidev-page-${n} .slidev-layout`) as HTMLElement | null
    if (!layout)
      return 'no .slidev-layout'
    const dy = layout.scrollHeight - layout.clientHeight
    const dx = layout.scrollWidth - layout.clientWidth
    if (dy > 4 || dx > 4)
      return `overflows by ${dx}px x ${dy}px`
    const box = layout.getBoundingClientRect()
    const shadowSvgs = [...layout.querySelectorAll('.mermaid')].flatMap(m => [...(m.shadowRoot?.querySelectorAll('svg') ?? [])])
    const out = [...layout.querySelectorAll('*'), ...shadowSvgs].filter((el) => {
      const r = el.getBoundingClientRect()
      return r.width > 0 && (r.right > box.right + 2 || r.bottom > box.bottom + 2 || r.left < box.left - 2)
    })
    const top = out[0]
    return top ? `${out.length} element(s) outside the canvas, e.g. <${top.tagName.toLowerCase()} class="${top.getAttribute('class') ?? ''}">` : ''
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

    /** Runs one variant from the slide; returns its CPU time and the worst heartbeat meanwhile. */
    async function run(variant: 'blocking' | 'worker'): Promise<{ cpu: number, worst: number }> {
      const row = slide.getByTestId(`sa-result-${variant}`)
      await slide.getByTestId(`sa-${variant}-button`).click()
      await expect.poll(() => row.getAttribute('data-worst'), { timeout: 15_000 }).toBeTruthy()
      await page.screenshot({ path: join(SHOTS, `demo-sync-async-${variant}.png`) })
      return { cpu: Number(await row.getAttribute('data-cpu')), worst: Number(await row.getAttribute('data-worst')) }
    }
    const blocked = await run('blocking')
    const offloaded = await run('worker')
    // While the loop computes nothing is answered: some heartbeat waits for most of the work.
    expect(blocked.worst, `worst heartbeat during ${blocked.cpu} ms on the loop`).toBeGreaterThan(blocked.cpu * 0.5)
    // On the worker the loop stays free (a loaded CI machine stretches everything: bound relative to the work).
    expect(offloaded.worst, `worst heartbeat during ${offloaded.cpu} ms on the worker`).toBeLessThan(Math.max(100, offloaded.cpu * 0.4))
    expect(offloaded.worst).toBeLessThan(blocked.worst)
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
      await page.waitForTimeout(600) // let the slide transition finish before the picture
      await page.screenshot({ path: join(SHOTS, `${String(i + 1).padStart(2, '0')}-${slug(title)}.png`) })
      const over = await overflow(page, no)
      if (over)
        problems.push(`"${title}" (slide ${no}): ${over}`)
      // Slidev shows a failed Mermaid diagram as a red-bordered <pre> with the parser's message.
      const failed = await page.locator(`.slidev-page-${no} pre[border]`).allTextContents()
      if (failed.length)
        problems.push(`"${title}" (slide ${no}): diagram failed: ${failed.join(' | ').slice(0, 200)}`)
    }
    expect(problems).toEqual([])
    expect(w.remoteRequests, 'requests that left the machine').toEqual([])
    expect(w.errors, 'console errors').toEqual([])
  }, 600_000)
})
