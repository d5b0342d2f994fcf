// The room's predictions: one per demo slide, as data both sides read. The deck shows the
// question and options, the demo server counts the phones' votes by option id, and the answer is
// computed from the demo's own measured state (the same object a recording's `final` holds), never
// written by hand. Types and pure functions only (see wire/README.md).
//
// The types live in predictions/types.ts, each chapter's predictions in predictions/<chapter>.ts
// (the chapter files cannot import this one: wire/ imports only `./` paths).
import type { Prediction } from './predictions/types.ts'
import welcome from './predictions/welcome.ts'
import requestResponse from './predictions/request-response.ts'
import syncAsync from './predictions/sync-async.ts'
import shortPolling from './predictions/short-polling.ts'
import longPolling from './predictions/long-polling.ts'
import sse from './predictions/sse.ts'
import race from './predictions/race.ts'
import push from './predictions/push.ts'
import webhooks from './predictions/webhooks.ts'
import messageQueues from './predictions/message-queues.ts'
import pubsub from './predictions/pubsub.ts'
import workQueue from './predictions/work-queue.ts'
import multiplexing from './predictions/multiplexing.ts'
import stateful from './predictions/stateful.ts'
import sidecar from './predictions/sidecar.ts'

export type { Prediction, PredictionOption } from './predictions/types.ts'

/** Every chapter's predictions, in the order of the talk. */
const CHAPTERS: Array<Array<Prediction<any>>> = [welcome, requestResponse, syncAsync, shortPolling, longPolling, sse, race, push, webhooks, messageQueues, pubsub, workQueue, multiplexing, stateful, sidecar]

/** Every prediction, by demo id, in the order of the talk: one per demo slide of the main track. */
export const PREDICTIONS: Record<string, Prediction<any>> = Object.fromEntries(CHAPTERS.flat().map(p => [p.demo, p]))

/** The prediction of demo `id`, or undefined when that demo asks none. */
export function predictionFor(id: string): Prediction<any> | undefined {
  return PREDICTIONS[id]
}
