import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { currentSlide, expectSlideFits, goToSlide } from '../support/deck.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

const screenshot = screenshots('backend-patterns')

/** A screenshot, then the slide still fits the canvas now that the demo has filled it. */
async function shot(page: Page, name: string): Promise<void> {
  await screenshot(page, name)
  await expectSlideFits(page, name)
}

describe('backend patterns in the browser: multiplexing, state, sidecar', () => {
  const deck = useDeckSession({
    demos: { connectBroker: false },
    // The stateful demo shows 401s on purpose, the sidecar demo an order's 502 (the app's answer when
    // the price service failed it): the browser logs those responses as errors.
    ignoreErrors: [/status of 401/, /status of 502/],
  })

  it('ten slow requests from the browser: six run on six sockets while four wait, in two waves', async () => {
    const { page } = deck
    await goToSlide(page, 'Ten slow requests, six connections')
    const slide = currentSlide(page)
    await slide.getByTestId('six-fire').click()
    await page.waitForTimeout(500)
    await shot(page, 'multiplexing-six-running')
    await expect.poll(() => slide.getByTestId('six-queued').textContent(), { timeout: 10_000 }).toBe('4')
    await expect.poll(() => slide.getByTestId('six-fire').isEnabled(), { timeout: 10_000 }).toBe(true)
    expect(await slide.getByTestId('six-max-inflight').textContent()).toBe('6')
    expect(await slide.getByTestId('six-sockets').textContent()).toBe('6')
    // Two waves: six requests start at once, four only when the first wave answers (1000 ms each).
    const starts = await page.evaluate(() => [...document.querySelectorAll('.slidev-page:not([style*="display: none"]) [data-lane^="request"] [data-testid="timeline-bar"]')]
      .map(b => b.getAttribute('title') ?? '').filter(t => t.startsWith('GET')).map(t => Number(/ (\d+) ms \+/.exec(t)?.[1])))
    expect(starts).toHaveLength(10)
    expect(starts.filter(s => s < 1000 / 2)).toHaveLength(6)
    expect(starts.filter(s => s >= 900)).toHaveLength(4)
    await shot(page, 'multiplexing-six-done')
  })

  it('the same ten requests over HTTP/2 use one TCP connection, over HTTP/1.1 six; the clicker runs and clears it', async () => {
    const { page } = deck
    await goToSlide(page, 'Ten streams on one connection')
    const slide = currentSlide(page)
    // Before the first click: the prediction, the lanes and an empty table.
    expect(await slide.getByTestId('demo-predict').textContent()).toContain('Which has all 10 answers first?')
    expect(await slide.getByTestId('prediction-reveal').count()).toBe(0)
    expect(await slide.getByTestId('h2-table-empty').isVisible()).toBe(true)
    await page.keyboard.press('ArrowRight') // the presenter's click 1 runs both
    await slide.getByTestId('h2-table').waitFor({ timeout: 15_000 })
    expect(await slide.getByTestId('h2-row-h2').getByTestId('h2-conns').textContent()).toBe('1')
    expect(await slide.getByTestId('h2-row-h1').getByTestId('h2-conns').textContent()).toBe('6')
    expect(await slide.getByTestId('h2-row-h2').textContent()).toContain('1 3 5 7 9 11 13 15 17 19')
    // The prediction, answered by the run: HTTP/2 had all ten answers first, and the line says in how long.
    await expect.poll(() => slide.getByTestId('prediction-reveal').getAttribute('data-answer')).toBe('h2')
    expect(await slide.getByTestId('prediction-reason').textContent()).toMatch(/^HTTP\/1\.1: \d\.\d\d s on 6 TCP connections; HTTP\/2: \d\.\d\d s on 1, 10 streams at once\.$/)
    await shot(page, 'multiplexing-h2')
    await page.keyboard.press('ArrowRight') // click 2 clears it
    await slide.getByTestId('h2-table-empty').waitFor({ timeout: 5_000 })
    // The button still runs it from the keyboard's Tab/Enter or a mouse.
    await slide.getByTestId('h2-run').click()
    await slide.getByTestId('h2-table').waitFor({ timeout: 15_000 })
  })

  it('a warm pool uses one connection for fifty requests, no pool opens fifty', async () => {
    const { page } = deck
    await goToSlide(page, 'Pooled vs a new connection per request')
    const slide = currentSlide(page)
    await slide.getByTestId('pool-run').click()
    await slide.getByTestId('pool-row-fresh').waitFor({ timeout: 15_000 })
    expect(await slide.getByTestId('pool-row-pooled').getByTestId('pool-conns').textContent()).toBe('1')
    expect(await slide.getByTestId('pool-row-fresh').getByTestId('pool-conns').textContent()).toBe('50')
    await shot(page, 'multiplexing-pool')
  })

  it('with a session you are logged out on the other instance and after a restart; with a token you stay logged in', async () => {
    const { page } = deck
    // Start the two instances first (two tsx processes take a few seconds on a busy machine);
    // starting them on first use is covered by test/stateful.test.ts.
    expect((await fetch(`${deck.demos.url}/stateful/instances`)).status).toBe(200)
    await goToSlide(page, 'Log in, then land on the other instance')
    const slide = currentSlide(page)
    const steps = (mode: string) => slide.getByTestId(`st-row-${mode}`).getByTestId('st-step')
    /** The last two answers in a login style's row. */
    const lastTwo = async (mode: string) => (await steps(mode).evaluateAll(els => els.map(e => e.getAttribute('data-status')))).slice(-2)
    /** The newest step's number: each click adds a step (a restart one per row) when its answer is in. */
    const newest = async () => Math.max(0, ...await slide.getByTestId('st-step').evaluateAll(els => els.map(e => Number(e.getAttribute('data-n')))))
    const click = async (id: string) => {
      const before = await newest()
      await slide.getByTestId(id).click()
      await expect.poll(newest, { timeout: 60_000 }).toBeGreaterThan(before)
    }
    await click('st-login-session')
    await click('st-me-session')
    await click('st-me-session')
    // One of the two "who am I?" is a 401 (the other instance), the other a 200.
    expect((await lastTwo('session')).sort()).toEqual(['200', '401'])
    await shot(page, 'stateful-session')

    await click('st-login-token')
    await click('st-me-token')
    await click('st-me-token')
    expect(await lastTwo('token')).toEqual(['200', '200'])
    await click('st-restart')
    await click('st-me-token')
    await click('st-me-token')
    expect(await lastTwo('token')).toEqual(['200', '200'])
    await click('st-me-session')
    await click('st-me-session')
    expect(await lastTwo('session')).toEqual(['401', '401'])
    await shot(page, 'stateful-after-restart')
  })

  it('the presenter\'s clicker drives the stateful and sidecar demos: click 1 runs the first round, click 2 the second', async () => {
    const { page } = deck
    await goToSlide(page, 'Log in, then land on the other instance')
    let slide = currentSlide(page)
    const lastTwo = async (mode: string) => (await slide.getByTestId(`st-row-${mode}`).getByTestId('st-step')
      .evaluateAll(els => els.map(e => e.getAttribute('data-status')))).slice(-2)
    const newest = async () => Math.max(0, ...await slide.getByTestId('st-step').evaluateAll(els => els.map(e => Number(e.getAttribute('data-n')))))
    let before = await newest()
    await page.keyboard.press('ArrowRight') // log in both ways, ask twice each: six steps
    await expect.poll(newest, { timeout: 60_000 }).toBe(before + 6)
    expect((await lastTwo('session')).sort()).toEqual(['200', '401'])
    expect(await lastTwo('token')).toEqual(['200', '200'])
    before = await newest()
    await page.keyboard.press('ArrowRight') // restart both (a step in each row), ask twice each
    await expect.poll(newest, { timeout: 60_000 }).toBe(before + 6)
    expect(await lastTwo('session')).toEqual(['401', '401'])
    expect(await lastTwo('token')).toEqual(['200', '200'])

    await goToSlide(page, 'The same app, with and without a sidecar')
    slide = currentSlide(page)
    await slide.getByTestId('sc-stats').waitFor({ timeout: 60_000 })
    await expect.poll(() => slide.getByTestId('sc-order').isEnabled(), { timeout: 20_000 }).toBe(true)
    await page.keyboard.press('ArrowRight') // without the sidecar: six orders, three fail
    await expect.poll(() => slide.getByTestId('sc-failed').textContent(), { timeout: 30_000 }).toBe('3')
    await page.keyboard.press('ArrowRight') // with it: six of six, the run before kept beside
    await expect.poll(() => slide.getByTestId('sc-ok').textContent(), { timeout: 30_000 }).toBe('6')
    expect(await slide.getByTestId('sc-previous').textContent()).toContain('3 ok · 3 failed')
  })

  it('the sidecar turns failed orders into retried ones; the app still calls once per order', async () => {
    const { page } = deck
    await goToSlide(page, 'The same app, with and without a sidecar')
    const slide = currentSlide(page)
    // Before the first click: the prediction, and what the app does.
    expect(await slide.getByTestId('demo-predict').textContent()).toContain('how many of 6 orders succeed')
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
    // The sidecar's retry loop and the app's single fetch are on slides, read from the files that run.
    await goToSlide(page, 'What the sidecar adds, and what it costs')
    expect(await currentSlide(page).locator('.slidev-code').first().textContent()).toContain("const retryable = req.method === 'GET' || req.method === 'HEAD'")
    await goToSlide(page, 'The app, and how the demo deploys it')
    expect(await currentSlide(page).locator('.slidev-code').first().textContent()).toContain('const res = await fetch(`${UPSTREAM}/price`)')
    // The demos above, clicked through, logged no error (the 401s aside) and reached nothing off the machine.
    expect(deck.remoteRequests).toEqual([])
    expect(deck.errors).toEqual([])
  })
})
