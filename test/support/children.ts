import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { DEMO_NODE_ARGS } from '../../demos/platform/config.ts'

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

/** `npm run demos` in its own process on a free port, with `env` added; resolves with its URL once it listens. */
export async function startDemoProcess(env: Record<string, string> = {}): Promise<{ url: string, child: ChildProcess }> {
  const child = spawn(process.execPath, [...DEMO_NODE_ARGS], {
    env: { ...process.env, DEMO_PORT: '0', JOBS_DB: ':memory:', ...env },
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

/**
 * Runs `npm run demos` (demos/main.ts) with `env` added until it exits by itself, for start-up
 * failures; killed after `timeoutMs` (default 20 s) if it does not. Resolves with its exit code
 * and what it printed.
 */
export async function runDemoMain(env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [...DEMO_NODE_ARGS], {
    env: { ...process.env, JOBS_DB: ':memory:', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => { stdout += d })
  child.stderr!.on('data', (d: Buffer) => { stderr += d })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  clearTimeout(timer)
  return { code, stdout, stderr }
}
