// The demo server of the bench's held-connections row (bench/held.ts): the demo app (demos/app.ts
// `listen`) and its job store in one process, as `npm run demos` runs them (no broker needed), with
// a control line on stdin so the bench can make the one change when every stream is held.
// Prints `listening <port> <job id> <job version>`: event streams of that job
// (GET /jobs/<id>/events, Last-Event-ID: <version>) wait for its next change. Then, on stdin:
//   go   finishes the job now (each stream is told, as the capacity slide's run does it);
//        prints {"type":"stamp","at":<the change's finishedAt, epoch ms>,"held":<responses held before it>}
// Anything else, or the end of stdin, closes the server.
// Usage: node --max-semi-space-size=8 --import tsx bench/held-server.ts   (env SSE_MAX_CLIENTS)
import { createInterface } from 'node:readline'
import { listen } from '../demos/app.ts'
import { loadConfig } from '../demos/platform/config.ts'
import { createDemoContext } from '../demos/platform/context.ts'

const ctx = createDemoContext({ ...loadConfig(), port: 0, jobsDb: ':memory:' })
const demo = await listen(ctx)
// An hour: its own next step (a fifth of it) never comes during a run.
const job = ctx.jobs.create(60 * 60_000)
process.stdout.write(`listening ${demo.port} ${job.id} ${job.version}\n`)
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'go')
    break
  const held = ctx.lifecycle.openCount
  const changed = ctx.jobs.finish(job.id)
  process.stdout.write(`${JSON.stringify({ type: 'stamp', at: changed?.finishedAt, held })}\n`)
}
await demo.close(100)
process.exit(0)
