import type { DemoContext } from '../platform/context.ts'
import { chapterState } from '../platform/context.ts'
import { bridgeAudience } from './broker-bridge.ts'
import { AudienceHub } from './hub.ts'

/**
 * This server's audience hub (the room's phones), or null when audience mode is off. Created on
 * first use with its shutdown and its RabbitMQ bridge; the presenter's router (router.ts), the
 * phones' listener (listen.ts, started by demos/app.ts) and /health all read this one.
 */
export function audienceHub(ctx: DemoContext): AudienceHub | null {
  return chapterState(ctx, 'audience.hub', () => {
    if (!ctx.config.audience)
      return null
    const hub = new AudienceHub({ maxDevices: ctx.config.audienceMaxDevices })
    ctx.lifecycle.onShutdown(() => hub.close())
    bridgeAudience(ctx, hub) // the room through RabbitMQ, when the broker is up
    return hub
  })
}
