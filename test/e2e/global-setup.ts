import type { TestProject } from 'vitest/node'
import { freePort } from '../../tools/ports.ts'
import { startSlidevDev } from '../../tools/slidev-dev.ts'

declare module 'vitest' {
  interface ProvidedContext {
    /** Origin of the Slidev dev server shared by the e2e files, e.g. http://localhost:41234 */
    deckUrl: string
  }
}

/** Starts one Slidev dev server for all e2e files, the way `npm run dev` does (`npm start` serves a build: test/e2e/start.test.ts). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const deck = await startSlidevDev({ port: await freePort() })
  project.provide('deckUrl', deck.url)
  return deck.stop
}
