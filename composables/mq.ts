import type { Demo } from './demo'
import type { TrafficEntry } from './traffic'
import { computed, watch } from 'vue'
import { byteLength } from './traffic'

/** An open EventSource drawn on the demo's timeline. */
export interface MqStream {
  close: () => void
}

/**
 * Opens an EventSource on the demo server at `path`, records it in `demo.log` (a stream bar
 * on `lane`, a tick per event) and hands each event's parsed data to `on[event]`. `Events` maps
 * event names to their data (e.g. `SubscriberEvents` from demos/pubsub/router.ts).
 */
export function openMqStream<Events extends object = Record<string, any>>(demo: Demo, path: string, lane: string, on: { [E in keyof Events]?: (data: Events[E]) => void }): MqStream {
  const source = new EventSource(`${demo.url}${path}`)
  const entry: TrafficEntry = demo.log.begin({ lane, kind: 'stream', label: `GET ${path}` })
  for (const [event, handler] of Object.entries(on) as Array<[string, (data: unknown) => void]>) {
    source.addEventListener(event, (ev) => {
      const text = (ev as MessageEvent<string>).data
      demo.log.tick({ lane, kind: 'event', label: event, receivedBytes: byteLength(text) })
      handler(JSON.parse(text))
    })
  }
  return {
    close() {
      source.close()
      demo.log.finish(entry)
    },
  }
}

/** A server-named queue (`amq.gen-…`) cut to fit a slide; other names as they are; `…` before it has one. */
export function shortQueueName(queue: string): string {
  return !queue ? '…' : queue.startsWith('amq.gen-') ? `${queue.slice(0, 12)}…` : queue
}

/**
 * Runs `start` while the slide is active AND the broker is up (so no stream is ever opened
 * against a 503: the frame shows the broker-down state instead); stops it on leave.
 * Streams already open survive a broker restart: the demo server re-declares their queues.
 */
export function whileBrokerUp(demo: Demo, start: () => () => void): void {
  // Blocked (a memory or disk alarm) refuses publishes only: streams may still open.
  const up = computed(() => demo.health.value?.broker === 'up' || demo.health.value?.broker === 'blocked')
  demo.whileActive(() => {
    let stop: (() => void) | undefined
    const unwatch = watch(up, (isUp) => {
      if (isUp && !stop)
        stop = start()
    }, { immediate: true })
    return () => {
      unwatch()
      stop?.()
      stop = undefined
    }
  })
}
