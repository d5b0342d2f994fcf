// `npm run record`: records every demo of the deck against the real demo server (and RabbitMQ
// when AMQP_URL, default amqp://localhost, answers) in headless Chromium, and writes one file per
// demo to recordings/<demo>.json. The deck replays them when no demo server is there.
//   npm run record                 every demo
//   npm run record -- --only sse,race
import type { SlidevDevServer } from '../tools/slidev-dev.ts'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createDemoContext } from '../demos/platform/context.ts'
import { loadConfig } from '../demos/platform/config.ts'
import { listen } from '../demos/app.ts'
import { launchBrowser } from '../tools/browser.ts'
import { freePort } from '../tools/ports.ts'
import { startSlidevDev } from '../tools/slidev-dev.ts'
import { formatRecording, recordDemos } from './record-demos.ts'

const DIR = new URL('../recordings/', import.meta.url).pathname

let only: string[] | undefined
try {
  const { values } = parseArgs({ options: { only: { type: 'string' } } })
  only = values.only?.split(',').map(s => s.trim()).filter(Boolean)
}
catch (err) {
  console.error(`[record] ${(err as Error).message}. Usage: npm run record [-- --only id,id]`)
  process.exit(2)
}

const started = performance.now()
const port = await freePort()
// The deck's origin (a dev server on a free port) is the one the demo server's CORS allows. A
// subscriber's queue goes with it (no 30 s resume window), so the broker view records only its own.
// Audience mode on, its listener on loopback: simulated phones are the room (scripts/record-demos.ts).
const ctx = createDemoContext({ ...loadConfig({ ...process.env, DEMO_PORT: '0', HOST: '127.0.0.1', DECK_PORT: String(port), DECK_ORIGINS: '', AUDIENCE: '1', AUDIENCE_HOST: '127.0.0.1', AUDIENCE_PORT: '0' }), jobsDb: ':memory:', pubsubResumeMs: 100 })
const demos = await listen(ctx)
ctx.broker.start()
// RabbitMQ when reachable: give it a few seconds; the broker demos are skipped without it.
for (let i = 0; i < 50 && !ctx.broker.connection; i++) await new Promise(r => setTimeout(r, 100))
const rabbitmq = (ctx.broker.connection as any)?.connection?.serverProperties?.version as string | undefined ?? null
console.log(`[record] demo server ${demos.url}; RabbitMQ ${rabbitmq ?? 'not reachable: its demos will be skipped'}`)

let deck: SlidevDevServer
try {
  deck = await startSlidevDev({ port })
}
catch (err) {
  console.error(`[record] ${(err as Error).message}`)
  process.exit(1)
}
process.on('exit', deck.kill)
const deckUrl = deck.url

const browser = await launchBrowser()
let code = 0
try {
  const { recordings, skipped } = await recordDemos({
    deckUrl,
    demoUrl: demos.url,
    browser,
    rabbitmq,
    only,
    onProgress: (id, what, detail) => console.log(`[record] ${id}: ${what}${detail ? ` (${detail})` : ''}`),
  })
  mkdirSync(DIR, { recursive: true })
  const rows: string[][] = [['demo', 'entries', 'state steps', 'run', 'size']]
  for (const rec of Object.values(recordings)) {
    const text = formatRecording(rec)
    writeFileSync(join(DIR, `${rec.demo}.json`), text)
    rows.push([rec.demo, String(rec.takes.reduce((n, t) => n + t.entries.length, 0)), String(rec.states.length), `${(rec.durationMs / 1000).toFixed(1)} s`, `${(Buffer.byteLength(text) / 1024).toFixed(1)} kB`])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map(r => r[i]!.length)))
  for (const r of rows) console.log(r.map((c, i) => i ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join('  '))
  console.log(`[record] wrote ${Object.keys(recordings).length} recordings to recordings/ in ${((performance.now() - started) / 1000).toFixed(0)} s`)
  if (Object.keys(skipped).length) {
    console.error(`[record] not recorded (their old recordings are kept): ${Object.entries(skipped).map(([id, why]) => `${id}: ${why}`).join('; ')}`)
    code = 1
  }
}
catch (err) {
  console.error(`[record] ${(err as Error).stack ?? err}`)
  code = 1
}
finally {
  await browser.close()
  await deck.stop()
  await demos.close(0)
}
process.exit(code)
