import type { TestProject } from 'vitest/node'
import { spawn } from 'node:child_process'
import { freePort } from '../../tools/ports.ts'

declare module 'vitest' {
  interface ProvidedContext {
    /** Origin of the Slidev dev server shared by the e2e files, e.g. http://localhost:41234 */
    deckUrl: string
  }
}

/** Starts one Slidev dev server for all e2e files, the way `npm run dev` does (`npm start` serves a build: test/e2e/start.test.ts). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const port = await freePort()
  const deckUrl = `http://localhost:${port}`
  const child = spawn('node_modules/.bin/slidev', ['--port', String(port), '--open', 'false'], {
    cwd: project.config.root,
    env: { ...process.env, BROWSER: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so teardown can stop Vite's children too
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`Slidev dev server exited (${child.exitCode}):\n${output}`)
    try {
      const res = await fetch(`${deckUrl}/`)
      if (res.ok)
        break
    }
    catch {}
    if (Date.now() > deadline)
      throw new Error(`Slidev dev server did not answer on ${deckUrl} within 60 s:\n${output}`)
    await new Promise(r => setTimeout(r, 250))
  }
  project.provide('deckUrl', deckUrl)
  return async () => {
    try {
      process.kill(-child.pid!, 'SIGTERM')
    }
    catch {}
    await new Promise(r => setTimeout(r, 300))
    try {
      process.kill(-child.pid!, 'SIGKILL')
    }
    catch {}
  }
}
