import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'

/** Is a process with this pid still alive? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  }
  catch {
    return false
  }
}

/** `npm run demos` in its own process on a free port; resolves with its URL once it listens. */
export async function startDemoProcess(): Promise<{ url: string, child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'demos/main.ts'], {
    env: { ...process.env, DEMO_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`demo server did not start: ${out}`)), 20_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', code => reject(new Error(`demo server exited with ${code}: ${out}`)))
  })
  child.stdout!.resume()
  return { url, child }
}
