/**
 * Simulated phones in a demo server's audience room, for recordings and tests that need a room:
 * `tools/audience-devices.ts` in a process of its own, joined through the demo server's own
 * `GET /audience/join` (the listener's URL and the join token, as the QR code holds them).
 */
import type { ChildProcess } from 'node:child_process'
import type { JoinInfo } from '../wire/audience.ts'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const DEVICES_SCRIPT = fileURLToPath(new URL('./audience-devices.ts', import.meta.url))

/** Phones in the room, until `stop()`. */
export interface SimulatedPhones {
  /** How many joined (and listen, each over the transport it was given). */
  devices: number
  /** Ends their process (the demo server sees their connections close); resolves once it has exited. */
  stop: () => Promise<void>
}

/**
 * Joins `devices` simulated phones (round-robin over the four transports, unless the presenter
 * picked one) to the audience room of the demo server at `demoUrl`, which must run in audience
 * mode. They hear every push and report it as the phone page does, until `stop()`. Resolves once
 * every phone listens; rejects if audience mode is off (`GET /audience/join` not 200) or the phones
 * are not listening within `timeoutMs` (default 60 000 ms).
 */
export async function startSimulatedPhones(demoUrl: string, devices: number, timeoutMs = 60_000): Promise<SimulatedPhones> {
  const res = await fetch(`${demoUrl}/audience/join`)
  if (!res.ok)
    throw new Error(`GET ${demoUrl}/audience/join answered ${res.status}: is audience mode on (AUDIENCE=1)?`)
  const join = new URL((await res.json() as JoinInfo).joinUrl)
  const args = { url: join.origin, token: join.searchParams.get('t'), devices, pushes: Number.MAX_SAFE_INTEGER, timeoutMs: 3_600_000 }
  const child = spawn(process.execPath, ['--import', 'tsx', DEVICES_SCRIPT, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  try {
    await untilReady(child, timeoutMs)
  }
  catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    devices,
    async stop() {
      if (child.exitCode === null && child.signalCode === null)
        child.kill('SIGTERM')
      await exited
    },
  }
}

/** Resolves on the devices' `ready <n>` line. */
function untilReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the simulated phones were not listening within ${timeoutMs} ms`)), timeoutMs)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('ready ')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the simulated phones exited (${code}) before they were listening`))
    })
  })
}
