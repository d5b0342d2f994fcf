// Waits on the deck in a Playwright page, shared by the e2e tests (test/support/deck.ts holds the
// rest of their deck helpers) and the demo recorder (scripts/record-demos.ts).
import type { Page } from 'playwright-core'

/**
 * Waits until the deck open in `page` has finished loading, as it has long before a talk reaches
 * a demo: Slidev mounts every slide 3 s after the deck opens (its SlidesShow preloads them all);
 * each demo registers its slide (`window.__wireDemoSlides__`) as it mounts. With `diagrams` (the
 * default) it also waits until every Mermaid diagram is drawn (into its shadow root): that is
 * seconds of work on the page's main thread on a busy machine, which would hold up any demo that
 * times the page meanwhile (the race).
 *
 * Polls every 250 ms; rejects with Playwright's TimeoutError after `timeoutMs` (default 60 000 ms).
 */
export async function waitForDeckLoaded(page: Page, { diagrams = true, timeoutMs = 60_000 }: { diagrams?: boolean, timeoutMs?: number } = {}): Promise<void> {
  await page.waitForFunction((withDiagrams) => {
    const nav = (window as any).__slidev__?.nav
    if (!nav)
      return false
    // Until a slide is mounted, its page holds a "Loading slide..." placeholder and no layout.
    for (let n = 1; n <= nav.total; n++) {
      if (!document.querySelector(`.slidev-page-${n} .slidev-layout`))
        return false
    }
    return !withDiagrams || [...document.querySelectorAll('.mermaid')].every(m => m.shadowRoot?.querySelector('svg'))
  }, diagrams, { timeout: timeoutMs, polling: 250 })
}
