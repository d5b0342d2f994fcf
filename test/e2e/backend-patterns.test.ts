import type { Browser, Page } from 'playwright-core'
import type { WatchedPage } from '../support/browser.ts'
import type { RunningDemoServer } from '../support/demo-server.ts'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openWatchedPage } from '../support/browser.ts'
import { currentSlide, deckUrl, goToSlide, openDeck } from '../support/deck.ts'
import { startDemoServer } from '../support/demo-server.ts'

const SHOTS = join(import.meta.dirname, '../../test-results/backend-patterns')

/** The visible slide's content fits the 16:9 canvas (checked again after a demo has filled it). */
async function overflow(page: Page): Promise<string> {
  await page.waitForFunction(() => document.querySelector(`.slidev-page-${(window as any).__slidev__.nav.currentSlideNo} .slidev-layout`), undefined, { timeout: 30_000 })
  return page.evaluate(() => {
    const no = (window as any).__slidev__.nav.currentSlideNo as number
    const layout = document.querySelector(`.slidev-page-${no} .slidev-layout`) as HTMLElement
    const dy = layout.scrollHeight - layout.clientHeight
    const dx = layout.scrollWidth - layout.clientWidth
    return dy > 4 || dx > 4 ? `overflows by ${dx}px x ${dy}px` : ''
  })
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) })
  expect(await overflow(page), name).toBe('')
}

describe('backend patterns in the browser: multiplexing, state, sidecar', () => {
  let browser: Browser
  let demos: RunningDemoServer
  let w: WatchedPage

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    demos = await startDemoServer({ allowedOrigins: [deckUrl()], connectBroker: false })
    browser = await launchBrowser()
    // The stateful demo shows 401s on purpose: the browser logs those responses as errors.
    w = await openWatchedPage(browser, { ignoreErrors: [/status of 401/] })
    await openDeck(w.page, demos.url)
  })
  afterAll(async () => {
    await browser?.close()
    await demos?.close()
  })

  it('ten slow requests from the browser: six run on six sockets while four wait, in two waves', async () => {
    const { page } = w
    await goToSlide(page, 'Live: ten slow requests, six connections')
    const slide = currentSlide(page)
    await slide.getByTestId('six-fire').click()
    await page.waitForTimeout(500)
    await shot(page, 'multiplexing-six-running')
    await expect.poll(() => slide.getByTestId('six-queued').textContent(), { timeout: 10_000 }).toBe('4')
    await expect.poll(() => slide.getByTestId('six-fire').isEnabled(), { timeout: 10_000 }).toBe(true)
    expect(await slide.getByTestId('six-max-inflight').textContent()).toBe('6')
    expect(await slide.getByTestId('six-sockets').textContent()).toBe('6')
    // Two waves: six requests reach the server at once, four about a second later.
    const starts = await page.evaluate(() => [...document.querySelectorAll('.slidev-page:not([style*="display: none"]) [data-lane^="request"] [data-testid="timeline-bar"]')]
      .map(b => b.getAttribute('title') ?? '').filter(t => t.startsWith('GET')).map(t => Number(/ (\d+) ms \+/.exec(t)?.[1])))
    expect(starts).toHaveLength(10)
    expect(starts.filter(s => s < 300)).toHaveLength(6)
    expect(starts.filter(s => s >= 900)).toHaveLength(4)
    await shot(page, 'multiplexing-six-done')
  })

  it('the same ten requests over HTTP/2 use one TCP connection, over HTTP/1.1 six', async () => {
    const { page } = w
    await goToSlide(page, 'Live: ten streams on one connection')
    const slide = currentSlide(page)
    await slide.getByTestId('h2-run').click()
    await slide.getByTestId('h2-table').waitFor({ timeout: 15_000 })
    expect(await slide.getByTestId('h2-row-h2').getByTestId('h2-conns').textContent()).toBe('1')
    expect(await slide.getByTestId('h2-row-h1').getByTestId('h2-conns').textContent()).toBe('6')
    expect(await slide.getByTestId('h2-row-h2').textContent()).toContain('1 3 5 7 9 11 13 15 17 19')
    await shot(page, 'multiplexing-h2')
  })

  it('a warm pool uses one connection for fifty requests, no pool opens fifty', async () => {
    const { page } = w
    await goToSlide(page, 'Live: pooled vs a new connection per request')
    const slide = currentSlide(page)
    await slide.getByTestId('pool-run').click()
    await slide.getByTestId('pool-row-fresh').waitFor({ timeout: 15_000 })
    expect(await slide.getByTestId('pool-row-pooled').getByTestId('pool-conns').textContent()).toBe('1')
    expect(await slide.getByTestId('pool-row-fresh').getByTestId('pool-conns').textContent()).toBe('50')
    await shot(page, 'multiplexing-pool')
  })

  it('with a session you are logged out on the other instance and after a restart; with a token you stay logged in', async () => {
    const { page } = w
    // Start the two instances first (two tsx processes take a few seconds on a busy machine);
    // starting them on first use is covered by test/stateful.test.ts.
    expect((await fetch(`${demos.url}/stateful/instances`)).status).toBe(200)
    await goToSlide(page, 'Live: log in, then land on the other instance')
    const slide = currentSlide(page)
    const statuses = async () => slide.getByTestId('st-table').locator('tbody tr').evaluateAll(rows => rows.map(r => r.getAttribute('data-status')))
    // The newest row's number: each click adds exactly one row when its answer is in.
    const newest = async () => (await slide.getByTestId('st-table').count()) ? Number(await slide.getByTestId('st-table').locator('tbody tr td').first().textContent()) : 0
    const click = async (id: string) => {
      const before = await newest()
      await slide.getByTestId(id).click()
      await expect.poll(newest, { timeout: 60_000 }).toBe(before + 1)
    }
    await click('st-login-session')
    await click('st-me-session')
    await click('st-me-session')
    // Newest first: one of the two "who am I?" is a 401 (the other instance), the other a 200.
    expect((await statuses()).slice(0, 2).sort()).toEqual(['200', '401'])
    await shot(page, 'stateful-session')

    await click('st-login-token')
    await click('st-me-token')
    await click('st-me-token')
    expect((await statuses()).slice(0, 2)).toEqual(['200', '200'])
    await click('st-restart')
    await click('st-me-token')
    await click('st-me-token')
    expect((await statuses()).slice(0, 2)).toEqual(['200', '200'])
    await click('st-me-session')
    await click('st-me-session')
    expect((await statuses()).slice(0, 2)).toEqual(['401', '401'])
    await shot(page, 'stateful-after-restart')
  })

  it('the sidecar turns failed orders into retried ones; the app still calls once per order', async () => {
    const { page } = w
    await goToSlide(page, 'Live: the same app, with and without a sidecar')
    const slide = currentSlide(page)
    // The app's code is on the slide, read from the file that runs.
    expect(await slide.locator('.slidev-code').first().textContent()).toContain('const res = await fetch(`${UPSTREAM}/price`)')
    await slide.getByTestId('sc-stats').waitFor({ timeout: 60_000 })
    await slide.getByTestId('sc-off').click()
    await expect.poll(() => slide.getByTestId('sc-order').isEnabled(), { timeout: 20_000 }).toBe(true)
    await slide.getByTestId('sc-order').click()
    await expect.poll(async () => Number(await slide.getByTestId('sc-ok').textContent()) + Number(await slide.getByTestId('sc-failed').textContent()), { timeout: 20_000 }).toBe(6)
    expect(await slide.getByTestId('sc-failed').textContent()).toBe('3')
    await expect.poll(() => slide.getByTestId('sc-app-calls').textContent()).toBe('6')
    await shot(page, 'sidecar-off')

    await slide.getByTestId('sc-on').click()
    await expect.poll(() => slide.getByTestId('sc-retries').textContent(), { timeout: 20_000 }).toBe('0')
    await expect.poll(() => slide.getByTestId('sc-order').isEnabled(), { timeout: 20_000 }).toBe(true)
    await slide.getByTestId('sc-order').click()
    await expect.poll(() => slide.getByTestId('sc-ok').textContent(), { timeout: 20_000 }).toBe('6')
    await expect.poll(() => slide.getByTestId('sc-retries').textContent()).toBe('6')
    expect(await slide.getByTestId('sc-failed').textContent()).toBe('0')
    expect(await slide.getByTestId('sc-app-calls').textContent()).toBe('6')
    expect(await slide.getByTestId('sc-upstream-attempts').textContent()).toBe('12')
    expect(await slide.getByTestId('sc-log').textContent()).toContain('attempt 2/3')
    await shot(page, 'sidecar-on')
  })

  it('every slide of the three chapters fits the canvas; no remote requests, no console errors', { timeout: 400_000 }, async () => {
    const { page } = w
    const titles = [
      'Multiplexing and connection pooling', 'Multiplexing vs demultiplexing', 'HTTP/1.1: one request at a time per connection',
      'HTTP/2 and QUIC: many streams, one connection', 'The code behind the two runs', 'Connection pools: keep connections warm', 'Pooling in the code',
      'Stateful and stateless', 'Stateful and stateless backends', 'A stateless backend in a stateful system', 'Stateful and stateless protocols',
      'Sessions in memory, or a signed token', 'JWT: what you give up',
      'The sidecar', 'Every protocol needs a library', 'Service meshes', 'What the sidecar adds', 'Sidecar: pros and cons',
    ]
    for (const [i, title] of titles.entries()) {
      await goToSlide(page, title)
      await page.waitForTimeout(400) // let the slide transition finish before the screenshot
      await shot(page, `slide-${String(i).padStart(2, '0')}`)
    }
    expect(w.remoteRequests).toEqual([])
    expect(w.errors).toEqual([])
  })
})
