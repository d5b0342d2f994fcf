import type { TestProject } from 'vitest/node'
import type { BrokerInfo } from '../tools/broker.ts'
import { provisionBroker } from '../tools/broker.ts'

declare module 'vitest' {
  interface ProvidedContext {
    /** The run's broker, for `inject('broker')` (fault tests stop and restart it through tools/broker.ts). */
    broker: BrokerInfo
  }
}

interface SharedBroker { info: BrokerInfo, stop: () => Promise<void>, users: number, savedEnv: Record<string, string | undefined> }

const EXPORTED = ['AMQP_URL', 'AMQP_MANAGEMENT_URL'] as const

// Vitest loads this file once per project that lists it (each in its own module graph), so the
// broker is shared through globalThis: one broker per run, and every project is handed the real
// BrokerInfo (were the second project to go by the AMQP_URL the first one exported, it would see
// an external 'env' broker that its fault tests may not stop).
const registry = globalThis as typeof globalThis & { __wirePatternsTestBroker?: Promise<SharedBroker> }

/**
 * Vitest globalSetup: one real broker per run (see tools/broker.ts). Tests read it with
 * `inject('broker')`; processes the tests spawn (demo servers, scripts) find it through
 * AMQP_URL / AMQP_MANAGEMENT_URL, inherited from this process. The returned teardown stops the
 * broker once the last project using it is done.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  registry.__wirePatternsTestBroker ??= (async () => {
    const started = Date.now()
    const savedEnv = Object.fromEntries(EXPORTED.map(key => [key, process.env[key]]))
    const { info, stop } = await provisionBroker()
    console.info(`[broker] ${info.kind} broker ready in ${Date.now() - started} ms: ${info.amqpUrl.replace(/:[^:@/]*@/, ':***@')}, management ${info.managementUrl ?? 'unknown'}`)
    process.env.AMQP_URL = info.amqpUrl
    if (info.managementUrl)
      process.env.AMQP_MANAGEMENT_URL = info.managementUrl
    return { info, stop, users: 0, savedEnv }
  })().catch((err: unknown) => {
    registry.__wirePatternsTestBroker = undefined // let a later run (watch mode) try again
    throw err
  })
  const shared = await registry.__wirePatternsTestBroker
  shared.users++
  project.provide('broker', shared.info)

  return async () => {
    if (--shared.users > 0)
      return
    registry.__wirePatternsTestBroker = undefined
    // Restored, or a watch-mode rerun would take the dead broker for an external one.
    for (const [key, value] of Object.entries(shared.savedEnv)) {
      if (value === undefined)
        delete process.env[key]
      else
        process.env[key] = value
    }
    await shared.stop()
  }
}
