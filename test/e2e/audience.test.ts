import type { Browser, Page } from 'playwright-core'
import type { Transport } from '../../wire/audience.ts'
import type { RunningDemoServer } from '../support/demo-server.ts'
import jsQR from 'jsqr'
import { devices } from 'playwright-core'
import { PNG } from 'pngjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { audienceHub } from '../../demos/audience/state.ts'
import { launchBrowser } from '../../tools/browser.ts'
import { TRANSPORTS } from '../../wire/audience.ts'
import { currentSlide, goToSlide } from '../support/deck.ts'
import { startDemoServer, waitFor } from '../support/demo-server.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

// Audience mode end to end: the Join slide's QR code, read back from its pixels, opens the phone
// page in two phone-sized Chromium pages; they join, hear the presenter's push, and show up on
// the big-screen slide. The audience listener is bound to 127.0.0.1 (no traffic leaves the machine).
const shot = screenshots('audience')

describe('audience mode: the room\'s phones as clients', () => {
  const deck = useDeckSession({ demos: { audience: true, audienceHost: '127.0.0.1', audiencePort: 0, connectBroker: false } })

  it('two phones join through the QR code, hear a push, and appear on the big screen', async () => {
    const { page, browser } = deck
    await goToSlide(page, 'Every demo asks you first')
    const slide = currentSlide(page)
    const qr = slide.getByTestId('audience-qr')
    await qr.waitFor({ timeout: 15_000 })
    await shot(page, 'join-slide')
    // Read the QR code as a phone camera would: from its pixels.
    const png = PNG.sync.read(await qr.screenshot())
    const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)
    expect(code?.data).toBe(audienceHub(deck.demos.ctx)!.joinUrl)

    const phones: Page[] = []
    for (const name of ['ada', 'grace']) {
      const context = await browser.newContext({ ...devices['Pixel 7'] })
      const phone = await context.newPage()
      const errors: string[] = []
      phone.on('console', m => m.type() === 'error' && errors.push(m.text()))
      await phone.goto(code!.data)
      await phone.fill('#nick', name)
      await phone.click('#go')
      await expect.poll(() => phone.getByTestId('phone-transport').textContent()).toMatch(/short-poll|long-poll|sse|websocket/)
      expect(errors).toEqual([])
      phones.push(phone)
    }
    // Round-robin: the first two phones got the first two transports.
    expect(await phones[0]!.getByTestId('phone-transport').textContent()).toBe('short-poll')
    expect(await phones[1]!.getByTestId('phone-transport').textContent()).toBe('long-poll')
    await expect.poll(() => slide.getByTestId('audience-count').textContent()).toBe('2')

    await goToSlide(page, 'Your phones, live')
    const room = currentSlide(page)
    await expect.poll(() => room.getByTestId('audience-total').textContent()).toBe('2')
    await room.getByTestId('audience-push').click()
    for (const phone of phones)
      await expect.poll(() => phone.getByTestId('phone-pushes').textContent(), { timeout: 15_000 }).toBe('1')
    // Both reported: the big screen has a delay for each, on its transport's row.
    await expect.poll(() => room.getByTestId('audience-row-short-poll').getByTestId('audience-heard').textContent()).toBe('1')
    await expect.poll(() => room.getByTestId('audience-row-long-poll').getByTestId('audience-heard').textContent()).toBe('1')
    await expect.poll(() => room.getByTestId('audience-slowest').textContent()).toMatch(/ada|grace/)
    await shot(page, 'room-slide')
    // The race: the next slide ranks the transports by who heard the starting gun first.
    await goToSlide(page, 'The race, run by the room')
    const race = currentSlide(page)
    await race.getByTestId('audience-push').click()
    // Pushes are numbered once for the whole talk, not per slide: the race's push is #2 on the phones and on the big screen.
    for (const phone of phones)
      await expect.poll(() => phone.getByTestId('phone-push-list').locator('li').allTextContents(), { timeout: 15_000 }).toEqual([expect.stringMatching(/#2 A video is ready$/), expect.stringMatching(/#1 A video is ready$/)])
    // The big screen hears of the push and of each phone's report over its own stream, a moment after the phones.
    await expect.poll(() => race.getByTestId('audience-table').locator('thead').textContent(), { timeout: 15_000 }).toContain('heard push #2')
    await expect.poll(() => race.getByTestId('audience-ranking').textContent(), { timeout: 15_000 }).toMatch(/1\..*2\./)
    await shot(page, 'race-slide')
    await phones[0]!.screenshot({ path: 'test-results/audience/phone-short-poll.png' })
    await phones[1]!.screenshot({ path: 'test-results/audience/phone-long-poll.png' })
    // The short poller kept asking; the long poller asked about once per push.
    const asked = async (p: Page) => Number(await p.getByTestId('phone-requests').textContent())
    expect(await asked(phones[0]!)).toBeGreaterThan(await asked(phones[1]!))
    expect(deck.errors).toEqual([])
    expect(deck.remoteRequests).toEqual([])
    // The talk ends (npm start's Ctrl-C stops the demo server): both phones say so, the long poller
    // from its last answer, the short poller once its asks find no server.
    await deck.demos.close()
    for (const phone of phones)
      await expect.poll(() => phone.getByTestId('phone-status').textContent(), { timeout: 15_000 }).toMatch(/talk has (probably )?ended/)
    for (const phone of phones) await phone.context().close()
  })
})

// The race ranks transports by the delays the phones report, each against the server's clock. One
// phone per transport on loopback once showed the WebSocket phone 38-70 ms behind on every push: the
// transport was as fast as the others (all within a few ms on the same clock), but the page took its
// clock offset from one round trip, its join, and a first request slow on its way in made the offset,
// and every delay it reported, that much too large. Each phone now takes the shortest of several
// round trips (join, GET /api/clock, each report's answer), so it is off by at most half of that.
describe('audience mode: each phone reads the server\'s clock', () => {
  let demos: RunningDemoServer
  let browser: Browser
  beforeAll(async () => {
    demos = await startDemoServer({ audience: true, audienceHost: '127.0.0.1', audiencePort: 0, connectBroker: false })
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await demos?.close()
  })

  it('four phones, one per transport, the WebSocket phone\'s join slow on its way in: every offset is set by a quicker round trip, and the WebSocket phone is not the last to hear every push', async () => {
    const HELD_MS = 500
    const hub = audienceHub(demos.ctx)!
    const phones: Page[] = []
    for (const transport of TRANSPORTS) {
      const context = await browser.newContext({ ...devices['Pixel 7'] })
      if (transport === 'websocket') // the by-hand case: this phone's first request reached the server late
        await context.route('**/api/join', async route => setTimeout(() => void route.continue(), HELD_MS))
      const phone = await context.newPage()
      await phone.goto(hub.joinUrl!)
      await phone.click('#go')
      await expect.poll(() => phone.getByTestId('phone-transport').textContent()).toBe(transport)
      phones.push(phone)
    }
    // Phones and server share this machine's wall clock: the true offset is 0 (to well under 1 ms).
    for (const [i, phone] of phones.entries()) {
      const [offset, bestRtt] = await phone.evaluate('[offset, bestRtt]') as [number, number]
      expect(bestRtt, `${TRANSPORTS[i]}: its offset came from a round trip shorter than the held join`).toBeLessThan(HELD_MS)
      expect(Math.abs(offset), `${TRANSPORTS[i]}: offset ${offset} ms, best round trip ${bestRtt} ms`).toBeLessThanOrEqual(bestRtt / 2 + 1)
    }
    const PUSHES = 6
    const delay = (t: Transport, seq: number) => [...hub.devices.values()].find(d => d.transport === t)!.delays.get(seq)!
    for (let seq = 1; seq <= PUSHES; seq++) {
      expect(hub.push(`push ${seq}`).seq).toBe(seq)
      await waitFor(() => [...hub.devices.values()].every(d => d.delays.has(seq)), `every phone's report of push ${seq}`, 15_000)
    }
    // Within this run, push by push: a WebSocket phone behind SSE and long polling (by more than
    // 1 ms) on every push would be its clock again, or a transport made slow.
    const last = Array.from({ length: PUSHES }, (_, i) => i + 1).filter(seq => delay('websocket', seq) > Math.max(delay('sse', seq), delay('long-poll', seq)) + 1)
    expect(last.length, `the WebSocket phone was last by > 1 ms on pushes ${last.join(', ')}`).toBeLessThan(PUSHES)
    for (const phone of phones) await phone.context().close()
  })
})
