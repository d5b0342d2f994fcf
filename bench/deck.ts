// Deck benchmark: how soon the deck is on screen after `npm start` says ready, and how long
// moving to each slide with → takes, cold (first pass) and warm (second pass in the same tab),
// for the built deck (`npm start`) and the Slidev dev server (`npm start -- --dev`), each next
// to its floor. Starts scripts/start.ts as a child on free ports, as a presenter would.
import type { Browser, Page } from 'playwright-core'
import type { BenchSection } from './lib.ts'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import sirv from 'sirv'
import { launchBrowser } from '../tools/browser.ts'
import { startNpmStart } from '../tools/npm-start.ts'
import { percentile, ratio } from './lib.ts'

/** The ways `npm start` can serve the deck: `build` (its default) and `dev` (`--dev`). */
type Mode = 'build' | 'dev'
/** Which to measure, in this order (env BENCH_DECK_MODES, default `build,dev`). */
const MODES = (process.env.BENCH_DECK_MODES ?? 'build,dev').split(',').map(s => s.trim()) as Mode[]
const START_ARGS: Record<Mode, string[]> = { build: [], dev: ['--dev'] }
const LABEL: Record<Mode, string> = { build: 'built deck (`npm start`)', dev: 'dev server (`npm start -- --dev`)' }

/** How long one slide may take to appear before the row is given up, ms. */
const SLIDE_TIMEOUT_MS = 60_000
/** Targets: the first slide after ready, and any warm slide change, ms. */
const FIRST_SLIDE_TARGET_MS = 5000
const WARM_TARGET_MS = 300

const ms = (n: number) => n.toFixed(0)

/** In the page: is slide `n` the current one, with its layout rendered and displayed? */
const SLIDE_VISIBLE = `(n) => {
  const nav = window.__slidev__ && window.__slidev__.nav
  if (!nav || nav.currentSlideNo !== n) return false
  const layout = document.querySelector('.slidev-page-' + n + ' .slidev-layout')
  return !!layout && layout.getBoundingClientRect().width > 0
}`

/** Waits (polling every frame) until `fn(arg)` is true in the page; survives a reload (Vite's dep optimizer may do one). */
async function waitInPage(page: Page, fn: string, arg: unknown, what: string, timeoutMs = SLIDE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await page.waitForFunction(`(${fn})(${JSON.stringify(arg)})`, undefined, { polling: 'raf', timeout: Math.max(1, deadline - Date.now()) })
      return
    }
    catch (err) {
      const msg = (err as Error).message
      if (Date.now() >= deadline || !/context was destroyed|navigation/i.test(msg))
        throw new Error(`${what}: not visible within ${timeoutMs / 1000} s (${msg.split('\n')[0]})`)
    }
  }
}

const nav = <T>(page: Page, expr: string) => page.evaluate(`(() => { const nav = window.__slidev__.nav; return ${expr} })()`) as Promise<T>

/** One pass over the deck from slide 1: per slide, ms from the → that leaves the previous slide to this one visible. */
async function pass(page: Page): Promise<Map<number, number>> {
  const total = await nav<number>(page, 'nav.total')
  const times = new Map<number, number>()
  for (let n = 2; n <= total; n++) {
    // Clicks of the previous slide first (untimed): the timed → is the one that changes slides.
    for (let i = 0; i < 50 && await nav<boolean>(page, `nav.currentSlideNo === ${n - 1} && nav.clicks < nav.clicksTotal`); i++) {
      const before = await nav<number>(page, 'nav.clicks')
      await page.keyboard.press('ArrowRight')
      await page.waitForFunction(`window.__slidev__.nav.clicks !== ${before} || window.__slidev__.nav.currentSlideNo !== ${n - 1}`)
    }
    if (await nav<number>(page, 'nav.currentSlideNo') === n - 1) {
      const t0 = performance.now()
      await page.keyboard.press('ArrowRight')
      await waitInPage(page, SLIDE_VISIBLE, n, `slide ${n}`)
      times.set(n, performance.now() - t0)
    }
    else {
      // The last click went on to this slide already (a slide whose clicks Slidev counted differently).
      const t0 = performance.now()
      await waitInPage(page, SLIDE_VISIBLE, n, `slide ${n}`)
      times.set(n, performance.now() - t0)
    }
  }
  return times
}

interface ModeResult {
  mode: Mode
  readyS: number
  /** What `npm start` said of the build: `rebuilt now, 9.1 s`, `up to date with the slides`, or '' (dev). */
  build: string
  firstSlideMs: number
  cold: Map<number, number>
  warm: Map<number, number>
  titles: string[]
}

async function measureMode(browser: Browser, mode: Mode): Promise<ModeResult> {
  const started = await startNpmStart({ args: START_ARGS[mode] })
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
  try {
    const page = await context.newPage()
    await page.goto(`${started.deckUrl}/1`, { waitUntil: 'commit', timeout: SLIDE_TIMEOUT_MS })
    await waitInPage(page, SLIDE_VISIBLE, 1, `${mode}: the first slide`)
    const firstSlideMs = performance.now() - started.readyAt
    const titles = await nav<string[]>(page, 'nav.slides.map(s => s.meta.slide.title || "")')
    const cold = await pass(page)
    await page.evaluate('window.__slidev__.nav.go(1)')
    await waitInPage(page, SLIDE_VISIBLE, 1, `${mode}: back to slide 1`)
    const warm = await pass(page)
    const build = /\((rebuilt now, [\d.]+ s|up to date[^)]*)\)/.exec(started.output())?.[1] ?? ''
    return { mode, readyS: started.readyS, build, firstSlideMs, cold, warm, titles }
  }
  catch (err) {
    throw new Error(`${LABEL[mode]}: ${(err as Error).message}`)
  }
  finally {
    await context.close()
    await started.stop()
  }
}

/** The floors: a static page from this machine (sirv, as the built deck is served) loaded, and a key press on it that shows an element. */
async function floors(browser: Browser): Promise<{ loadMs: number[], keyMs: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'deck-floor-'))
  writeFileSync(join(dir, 'index.html'), `<!doctype html><div class="slidev-layout">floor</div><script>
let n = 1; window.__slidev__ = { nav: { currentSlideNo: 1 } }
addEventListener('keydown', (e) => { if (e.key !== 'ArrowRight') return; n++; window.__slidev__.nav.currentSlideNo = n
  const d = document.createElement('div'); d.className = 'slidev-page-' + n; d.innerHTML = '<div class="slidev-layout">slide ' + n + '</div>'; document.body.append(d) })
</script><div class="slidev-page-1"><div class="slidev-layout">1</div></div>`)
  const server = createServer(sirv(dir, { dev: false, etag: true }))
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
  const loadMs: number[] = []
  const keyMs: number[] = []
  try {
    for (let i = 0; i < 5; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
      const page = await context.newPage()
      const t0 = performance.now()
      await page.goto(url, { waitUntil: 'commit' })
      await waitInPage(page, SLIDE_VISIBLE, 1, 'floor page')
      loadMs.push(performance.now() - t0)
      for (let n = 2; n <= 11; n++) {
        const t1 = performance.now()
        await page.keyboard.press('ArrowRight')
        await waitInPage(page, SLIDE_VISIBLE, n, 'floor key press')
        keyMs.push(performance.now() - t1)
      }
      await context.close()
    }
    return { loadMs, keyMs }
  }
  finally {
    server.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

function slowest(times: Map<number, number>, titles: string[]): string {
  const [no, t] = [...times].reduce((a, b) => (b[1] > a[1] ? b : a))
  return `${no} "${titles[no - 1] ?? ''}" (${ms(t)} ms)`
}

export default async function (): Promise<BenchSection[]> {
  const unknown = MODES.filter(m => !(m in START_ARGS))
  if (unknown.length)
    throw new Error(`BENCH_DECK_MODES: unknown mode(s) ${unknown.join(', ')} (known: build, dev)`)
  const loadBefore = loadavg().map(l => l.toFixed(2)).join(' ')
  const browser = await launchBrowser()
  const results: ModeResult[] = []
  let floor: { loadMs: number[], keyMs: number[] }
  try {
    floor = await floors(browser)
    for (const mode of MODES)
      results.push(await measureMode(browser, mode))
  }
  finally {
    await browser.close()
  }
  const loadFloor = percentile(floor.loadMs, 0.5)
  const keyFloor = percentile(floor.keyMs, 0.5)
  const built = results.find(r => r.mode === 'build')
  const rows: Array<Array<string | number>> = []
  for (const r of results) {
    rows.push([LABEL[r.mode], `first slide after "ready" (ready in ${r.readyS} s${r.build ? `; build ${r.build}` : ''})`, ms(r.firstSlideMs), ms(r.firstSlideMs), '1', 'a static page from this machine', ms(loadFloor), ratio(r.firstSlideMs, loadFloor), `<= ${FIRST_SLIDE_TARGET_MS}: ${r.firstSlideMs <= FIRST_SLIDE_TARGET_MS ? 'met' : 'NOT met'}`])
    for (const [name, times] of [['cold', r.cold], ['warm', r.warm]] as const) {
      const xs = [...times.values()]
      // The dev server's floor is the built deck's same pass when it was measured; the built deck's, a key press on a static page.
      const other = built && r.mode !== 'build' ? percentile([...(name === 'cold' ? built.cold : built.warm).values()], 0.5) : undefined
      const [floorName, floorMs] = other !== undefined ? [`the built deck's ${name} slide change`, other] : ['→ on a static page', keyFloor]
      const target = name === 'warm' ? `max <= ${WARM_TARGET_MS}: ${Math.max(...xs) <= WARM_TARGET_MS ? 'met' : 'NOT met'}` : ''
      rows.push([LABEL[r.mode], `→ to each slide, ${name} (slides 2-${r.titles.length})`, ms(percentile(xs, 0.5)), ms(Math.max(...xs)), slowest(times, r.titles), floorName, ms(floorMs), ratio(percentile(xs, 0.5), floorMs), target])
    }
  }
  return [{
    title: 'Deck: first slide after `npm start` says ready, and → to each slide (Chromium, 1280x720)',
    columns: ['mode', 'measurement', 'p50 ms', 'max ms', 'slowest slide', 'floor', 'floor ms', 'ratio (p50 / floor)', 'target'],
    rows,
    notes: [
      `Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadavg().map(l => l.toFixed(2)).join(' ')}.`,
      'First slide: from the "ready" line to slide 1\'s layout displayed in a fresh browser context. → : from the key press that leaves the previous slide (after its clicks) to the next slide\'s layout displayed, polled every frame; cold is the first pass after start, warm the second pass in the same tab.',
      'Floors: a static page from a sirv server on this machine loaded in a fresh context (p50 of 5), and → on a static page that adds an element (p50 of 50): what the browser and the measurement cost by themselves.',
    ],
    data: { floor, results: results.map(r => ({ ...r, cold: Object.fromEntries(r.cold), warm: Object.fromEntries(r.warm) })) },
  }]
}
