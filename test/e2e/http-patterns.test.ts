import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Locator } from 'playwright-core'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runningChildren } from '../../demos/platform/children.ts'
import { epochMs } from '../../wire/clock.ts'
import { waitForDeckLoaded } from '../../tools/deck.ts'
import { currentSlide, deckUrl, expectSlideFits, goToSlide, smallestText } from '../support/deck.ts'
import { startDemoServer } from '../support/demo-server.ts'
import { startJob } from '../support/http-patterns.ts'
import { screenshots, useDeckSession } from '../support/e2e.ts'

const shot = screenshots('http-patterns')
const ms = (text: string | null) => {
  const m = /([\d.]+)\s*(ms|s)\b/.exec(text ?? '')
  return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : Number.NaN
}
const num = async (l: Locator) => Number((await l.textContent())?.trim())

/**
 * One request to the demo server: its URL, when it arrived and when the server ended its answer
 * (epoch ms), and the server's loop turn then (see {@link tapAnswers}).
 */
interface Answered { method: string, url: string, arrivedAt: number, endedAt?: number, endedTurn?: number }
/**
 * Notes every request `server` gets from now on, and when its answer ends (`res.end`, which an SSE
 * stream calls right after its final event): what the server did, on its own clock. `endedTurn`
 * counts a 1 ms timer's firings: two answers ended with the same count were sent in one go, no
 * timer (so no other turn of the event loop) between them, however slow the machine. `stop()` ends the tap.
 */
function tapAnswers(server: Server): { list: Answered[], stop: () => void } {
  const list: Answered[] = []
  let turn = 0
  const ticker = setInterval(() => turn++, 1)
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const a: Answered = { method: req.method ?? '', url: req.url ?? '', arrivedAt: epochMs() }
    list.push(a)
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
    res.end = ((...args: unknown[]) => {
      if (a.endedAt === undefined) {
        a.endedAt = epochMs()
        a.endedTurn = turn
      }
      return end(...args)
    }) as ServerResponse['end']
  }
  server.prependListener('request', onRequest) // before Express, which rewrites req.url in its routers
  return { list, stop: () => { clearInterval(ticker); server.off('request', onRequest) } }
}

describe('HTTP patterns on the slides: what a viewer sees', () => {
  const deck = useDeckSession({ demos: { connectBroker: false } })

  it('request/response: the echo shows the request as received, and the blocking call holds the client', async () => {
    const { page } = deck
    await goToSlide(page, 'The anatomy of a round trip')
    const slide = currentSlide(page)
    await slide.getByTestId('rr-send').click()
    await expect.poll(() => slide.getByTestId('rr-request').textContent()).toContain('POST /echo?demo=1 HTTP/1.1')
    expect(await slide.getByTestId('rr-request').textContent()).toContain('{"hello":"wire"}')
    expect(await slide.getByTestId('rr-bytes').textContent()).toMatch(/\d+ B head \+ 16 B body/)
    expect(await slide.getByTestId('rr-phases').textContent()).toMatch(/request sent → first byte back [\d.]+ ms/)
    await slide.getByTestId('rr-block').click()
    await slide.getByTestId('rr-waiting').waitFor()
    await page.waitForTimeout(1500)
    await shot(page, 'request-response')
    // The whole request head is in view: nothing cut at the right or the bottom of its pane.
    expect(await slide.getByTestId('rr-request').evaluate(el => el.scrollHeight <= el.clientHeight + 1 && el.scrollWidth <= el.clientWidth + 1)).toBe(true)
    await slide.getByTestId('rr-blocked').waitFor({ timeout: 10_000 })
    await shot(page, 'request-response-done')
    expect(ms(await slide.getByTestId('rr-blocked').textContent())).toBeGreaterThanOrEqual(2900)
    await expectSlideFits(page)
  })

  it('short polling: several requests, and the end is learned about half an interval late', async () => {
    const { page } = deck
    await goToSlide(page, 'Polling a job')
    const slide = currentSlide(page)
    // A 4.5 s job polled every 1 s (the default): polls land near 0, 1, 2, 3, 4 and 5 s, so the
    // job's end falls mid-interval and is learned about half an interval late. The polls keep a
    // steady beat, but a busy machine can send one late, so the exact count may be one less: what
    // must hold is the arithmetic between the numbers on the slide.
    expect(await slide.getByTestId('short-interval').inputValue()).toBe('1000')
    await slide.getByTestId('short-start').click()
    await page.waitForTimeout(2500)
    expect(await num(slide.getByTestId('short-requests'))).toBeGreaterThanOrEqual(3)
    await shot(page, 'short-polling')
    await expect.poll(() => slide.getByTestId('short-job').textContent(), { timeout: 10_000 }).toBe('done')
    const requests = await num(slide.getByTestId('short-requests'))
    // The POST and one poll per interval: at most ceil(4.5 s / 1 s) + 1 polls (a timer never fires
    // early), and several "not ready" answers before the one that says done.
    expect(requests).toBeLessThanOrEqual(7)
    // Every poll but the last answered "not ready"; the POST is not a poll.
    expect(await num(slide.getByTestId('short-empty'))).toBe(requests - 2)
    expect(requests - 2).toBeGreaterThanOrEqual(3)
    const delay = ms(await slide.getByTestId('short-delay').textContent())
    console.info(`[e2e] short polling every 1000 ms: ${requests} requests, notification delay ${delay} ms`)
    expect(delay).toBeGreaterThan(0)
    // At most one interval plus the poll's own round trip, which is far shorter than an interval.
    expect(delay).toBeLessThan(2 * 1000)
    expect(await slide.getByTestId('timeline-bar').count()).toBe(requests)
    // The clicker: click 1 runs the job again, click 2 then runs it polled every 300 ms; each
    // finished run adds a row, so the room compares the two intervals.
    await page.keyboard.press('ArrowRight')
    await page.keyboard.press('ArrowRight')
    const rows = slide.getByTestId('short-runs').locator('tbody tr')
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(3)
    expect(await rows.last().locator('td').first().textContent()).toBe('300 ms')
    expect(Number(await rows.last().locator('td').nth(1).textContent())).toBeGreaterThan(Number(await rows.first().locator('td').nth(1).textContent()))
    await shot(page, 'short-polling-done')
  })

  it('long polling: one held request per state change, and a notification delay of a few ms', async () => {
    const { page } = deck
    await goToSlide(page, 'Long polling a job')
    const slide = currentSlide(page)
    await slide.getByTestId('long-start').click()
    await page.waitForTimeout(1800)
    expect(await num(slide.getByTestId('long-open'))).toBe(1)
    await shot(page, 'long-polling')
    await expect.poll(() => slide.getByTestId('long-job').textContent(), { timeout: 10_000 }).toBe('done')
    // POST + one GET per change: 20, 40, 60, 80, done.
    expect(await num(slide.getByTestId('long-requests'))).toBe(6)
    expect(await num(slide.getByTestId('long-empty'))).toBe(0)
    // Told as it happened (a few ms on a quiet machine); a whole step (4 s job / 5 = 800 ms) late
    // would have missed a change.
    expect(ms(await slide.getByTestId('long-delay').textContent())).toBeLessThan(4000 / 5)
    await slide.getByTestId('long-result').waitFor()
    await shot(page, 'long-polling-done')
  })

  it('SSE: one request, progress events as raw frames, and a resume without gaps after a drop', async () => {
    const { page } = deck
    await goToSlide(page, 'The raw stream')
    const slide = currentSlide(page)
    await slide.getByTestId('sse-start').click()
    await expect.poll(() => slide.getByTestId('sse-frame').first().getAttribute('title')).toMatch(/\nevent: progress\n/)
    expect(await slide.getByTestId('sse-frame').first().textContent()).toMatch(/^id: 1 · progress 0%/)
    await page.waitForTimeout(1200)
    await slide.getByTestId('sse-drop').click()
    await page.waitForTimeout(600)
    await shot(page, 'sse')
    await expect.poll(() => slide.getByTestId('sse-job').textContent(), { timeout: 15_000 }).toBe('done')
    const frames = await slide.getByTestId('sse-frame').allTextContents()
    // One frame per line, in short; its raw bytes in its tooltip.
    expect(frames.at(-1)).toMatch(/^id: 6 · done 100%/)
    expect(await slide.getByTestId('sse-frame').last().getAttribute('title')).toMatch(/^id: 6\nevent: done\ndata: \{/)
    // The whole run stays on screen: every id once, in order, across the reconnect, which sent the last id before it.
    expect(frames.map(f => Number(f.match(/^id: (\d+)/)?.[1])), 'no gap, no repeat').toEqual([1, 2, 3, 4, 5, 6])
    const columns = slide.getByTestId('sse-connection')
    expect(await columns.count()).toBe(2)
    const before = await columns.first().getByTestId('sse-frame').allTextContents()
    const resumedWith = (await columns.last().getByTestId('sse-reconnect').textContent())!.trim()
    expect(resumedWith).toBe(`Last-Event-ID: ${before.at(-1)!.match(/^id: (\d+)/)![1]}`)
    // ...and the audience sees it: the final frame sits inside the pane, not cut off below it.
    const pane = (await slide.getByTestId('sse-frames').boundingBox())!
    const last = (await slide.getByTestId('sse-frame').last().boundingBox())!
    expect(last.y).toBeGreaterThanOrEqual(pane.y)
    expect(last.y + last.height).toBeLessThanOrEqual(pane.y + pane.height + 1)
    expect(await num(slide.getByTestId('sse-requests'))).toBe(3) // POST, the stream, the resumed stream
    expect(ms(await slide.getByTestId('sse-delay').textContent())).toBeLessThan(5000 / 5) // under one step of the 5 s job
    const ticks = await slide.getByTestId('timeline-tick').count()
    expect(ticks).toBeGreaterThanOrEqual(7) // retry x2 + six events
    await shot(page, 'sse-done')
  })

  it('SSE on the clicker: a cut that comes after the job ended runs it again and cuts it halfway, so the question is answered by a cut', async () => {
    const { page } = deck
    await goToSlide(page, 'A response that keeps coming') // away, then back: the demo starts afresh
    await goToSlide(page, 'The raw stream')
    const slide = currentSlide(page)
    await page.keyboard.press('ArrowRight') // click 1: the job starts
    await expect.poll(() => slide.getByTestId('sse-job').textContent(), { timeout: 15_000 }).toBe('done') // the presenter talked through the cut
    expect(await slide.getByTestId('prediction-reveal').count(), 'no answer from an uncut run').toBe(0)
    await page.keyboard.press('ArrowRight') // click 2, late
    await expect.poll(() => slide.getByTestId('sse-connection').count(), { timeout: 15_000 }).toBe(2)
    await expect.poll(() => slide.getByTestId('prediction-reveal').getAttribute('data-answer'), { timeout: 15_000 }).toBe('all-once')
    expect(await num(slide.getByTestId('sse-requests'))).toBe(3)
  })

  it('capacity: one click holds 1,000 event streams from a helper process, and the slide shows what they cost', async () => {
    const { page, demos } = deck
    await goToSlide(page, 'What held connections cost')
    const slide = currentSlide(page)
    // What this browser asks the demo server: one request for the run, never a connection per client.
    const asked: string[] = []
    const onRequest = (req: { url: () => string, method: () => string }) => {
      if (req.url().startsWith(demos.url))
        asked.push(`${req.method()} ${new URL(req.url()).pathname}`)
    }
    page.on('request', onRequest)
    await slide.getByTestId('capacity-mode-sse').click()
    await slide.getByTestId('capacity-size-1000').click()
    await slide.getByTestId('capacity-start').click()
    await expect.poll(() => slide.getByTestId('capacity-memory').textContent(), { timeout: 30_000 }).toMatch(/^[\d.]+ KB$/)
    page.off('request', onRequest)
    await shot(page, 'capacity')
    // In the order the audience reads them: held, memory per connection, one change to all, time to open.
    expect(await slide.getByTestId('capacity-held').textContent()).toBe('1,000')
    expect(Number.parseFloat((await slide.getByTestId('capacity-memory').textContent())!)).toBeGreaterThan(0)
    expect(ms(await slide.getByTestId('capacity-tell').textContent())).toBeGreaterThan(0)
    expect(ms(await slide.getByTestId('capacity-open').textContent())).toBeGreaterThan(0)
    expect(await slide.getByTestId('capacity-poll-1000').textContent()).toBe('1,000')
    expect(await slide.getByTestId('capacity-poll-300').textContent()).toBe('3,333')
    expect(await slide.getByTestId('capacity-status').textContent()).toMatch(/1,000 event streams held by one process/)
    expect(asked.filter(r => r === 'POST /capacity/runs')).toHaveLength(1)
    expect(asked.filter(r => !/^(POST|OPTIONS) \/capacity\/runs$|^GET \/capacity\/runs\/current$|^GET \/health$/.test(r))).toEqual([])
    // Everything the run opened is closed again.
    await expect.poll(async () => (await (await fetch(`${demos.url}/health`)).json()).openConnections).toBe(0)
    await expectSlideFits(page, 'the capacity slide after a run')
    const smallest = await smallestText(page)
    expect(smallest.px, `smallest text: "${smallest.text}"`).toBeGreaterThanOrEqual(14)
    expect(deck.errors).toEqual([])
  })

  it('capacity: leaving the slide mid-run stops the run, its helper process and its connections', async () => {
    const { page, demos } = deck
    await goToSlide(page, 'What held connections cost')
    const slide = currentSlide(page)
    await slide.getByTestId('capacity-mode-long-poll').click()
    await slide.getByTestId('capacity-size-10000').click()
    await slide.getByTestId('capacity-start').click()
    const current = async () => (await (await fetch(`${demos.url}/capacity/runs/current`)).json()) as { running: boolean, held?: number }
    await expect.poll(async () => (await current()).held ?? 0, { timeout: 30_000 }).toBeGreaterThan(0)
    expect(runningChildren()).toBe(1)
    // To the next slide (the arrow key would first step through this slide's clicker steps).
    await page.evaluate(() => (window as any).__slidev__.nav.nextSlide())
    await expect.poll(async () => (await current()).running).toBe(false)
    await expect.poll(() => runningChildren()).toBe(0)
    await expect.poll(async () => (await (await fetch(`${demos.url}/health`)).json()).openConnections).toBe(0)
    expect(deck.errors).toEqual([])
  })

  it('the race: the server tells request/response, long polling and SSE of the end together, short polling at its next poll, and the table says so in full', async () => {
    const { page } = deck
    await goToSlide(page, 'The race: one job, four clients')
    await waitForDeckLoaded(page)
    const slide = currentSlide(page)
    const row = (r: string) => slide.getByTestId(`race-row-${r}`)
    const cell = (r: string, col: string) => row(r).getByTestId(col).textContent()
    const answers = tapAnswers(deck.demos.server)
    await slide.getByTestId('race-start').click()
    await page.waitForTimeout(1500)
    await shot(page, 'race-mid')
    // The job ends: the server answers the blocking POST and the held long poll and sends the
    // final event at that moment; short polling hears of it at its next poll.
    for (const r of ['rr', 'long', 'sse', 'short'])
      await expect.poll(() => cell(r, 'race-delay'), { timeout: 15_000 }).toMatch(/\d+ ms|\d\.\d s/)
    await shot(page, 'race-done')
    const delays = Object.fromEntries(await Promise.all(['rr', 'short', 'long', 'sse'].map(async r => [r, ms(await cell(r, 'race-delay'))])))
    answers.stop()
    console.info('[e2e] race notification delays (ms), as the page heard them:', delays)
    // When the server told each client (it wrote the answer's last byte), on the server's clock: the
    // lesson, which the page's own clock adds to (the last CI's page heard SSE 36 ms after the end and
    // request/response 87: a loaded machine ran the page's handlers 50 ms apart).
    const sse = answers.list.find(a => /^\/jobs\/[^/?]+\/events/.test(a.url))!
    const jobId = sse.url.split('/')[2]!
    const { finishedAt } = (await (await fetch(`${deck.demos.url}/jobs/${jobId}`)).json()) as { finishedAt: number }
    const mine = (re: RegExp) => answers.list.filter(a => re.test(a.url) && a.endedAt !== undefined)
    const lastLong = mine(new RegExp(`^/jobs/${jobId}\\?wait=`)).at(-1)!
    const told = { rr: mine(/^\/work$/).at(-1)!, long: lastLong, sse }
    console.info('[e2e] race: the server told them (ms after the end):', Object.fromEntries(Object.entries(told).map(([r, a]) => [r, Math.round((a.endedAt! - finishedAt) * 10) / 10])))
    // One job, three clients told in one go as it ended (job store's change(): every watcher at once):
    // request/response (POST /work {"jobId"}), the held long poll, the SSE stream's final event. How
    // many ms that takes is the machine's (0-9 ms here under load); that it is one go is the lesson.
    for (const [r, a] of Object.entries(told)) {
      expect(a.endedAt!, `${r}: told after the end`).toBeGreaterThanOrEqual(finishedAt)
      expect(a.endedTurn, `${r}: told in the same go as SSE (turns of the server's loop)`).toBe(sse.endedTurn)
    }
    // Short polling asks on a beat, so it is told at its next poll: the end fell between two polls,
    // and the first poll after it was answered with the news.
    const polls = mine(new RegExp(`^/jobs/${jobId}$`))
    const next = polls.findIndex(a => a.arrivedAt >= finishedAt)
    expect(next, 'a short poll came after the end').toBeGreaterThan(0)
    expect(polls[next - 1]!.arrivedAt, 'the poll before it came before the end').toBeLessThan(finishedAt)
    expect(Number.isFinite(delays.short) && delays.short >= 0, 'the short polling row says how late it heard').toBe(true)
    expect(Number(await cell('short', 'race-requests'))).toBeGreaterThanOrEqual(4)
    expect(Number(await cell('short', 'race-empty'))).toBeGreaterThanOrEqual(2)
    expect(Number(await cell('sse', 'race-requests'))).toBe(1)
    expect(Number(await cell('rr', 'race-requests'))).toBe(1)
    for (const r of ['rr', 'short', 'long', 'sse'])
      expect(await cell(r, 'race-bytes')).toMatch(/\d+(\.\d)? k?B/)
    // What the back row reads: the whole table and every lane's name, nothing cut off.
    expect(await slide.locator('[data-testid="timeline"] [data-lane] > :first-child').evaluateAll(labels => labels.filter(l => l.scrollWidth > l.clientWidth).map(l => l.textContent))).toEqual([])
    await expectSlideFits(page, 'the race slide after a run')
    expect(deck.errors).toEqual([])
    expect(deck.remoteRequests).toEqual([])
  })

  it('SSE: Chromium\'s EventSource gets every event exactly once across a restart of the demo server', async () => {
    const jobsDb = join(mkdtempSync(join(tmpdir(), 'wp-jobs-')), 'jobs.sqlite')
    let server = await startDemoServer({ allowedOrigins: [deckUrl()], connectBroker: false, jobsDb })
    const { port } = server
    try {
      const job = await startJob(server.url, { durationMs: 8000 }) // a change every 1.6 s
      // A real EventSource in the deck's page: it reconnects by itself, sending Last-Event-ID.
      await deck.page.evaluate((url) => {
        const w = window as any
        w.__ids = []
        w.__errors = 0
        const source = new EventSource(url)
        w.__source = source
        for (const type of ['progress', 'done', 'failed'])
          source.addEventListener(type, e => w.__ids.push(Number((e as MessageEvent).lastEventId)))
        source.addEventListener('error', () => w.__errors++)
      }, `${server.url}/jobs/${job.id}/events`)
      const ids = () => deck.page.evaluate(() => (window as any).__ids as number[])
      await expect.poll(ids).toEqual([1, 2])
      await server.close() // the stream ends; EventSource retries every 2 s while the server is down
      await expect.poll(() => deck.page.evaluate(() => (window as any).__errors as number)).toBeGreaterThan(0)
      server = await startDemoServer({ allowedOrigins: [deckUrl()], connectBroker: false, jobsDb, port })
      await expect.poll(ids, { timeout: 20_000 }).toEqual([1, 2, 3, 4, 5, 6])
    }
    finally {
      await deck.page.evaluate(() => (window as any).__source?.close())
      await server.close()
    }
    expect(deck.remoteRequests).toEqual([])
  })
})
