import type { Demo } from './demo'
import { computed, watch } from 'vue'

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
