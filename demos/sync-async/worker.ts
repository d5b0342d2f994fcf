// The worker thread: its own event loop and V8 isolate, so its CPU time never blocks the server's loop.
import { parentPort } from 'node:worker_threads'
import { countPrimes } from './cpu.ts'

// #region worker
parentPort?.on('message', (job: { id: number, n: number }) => {
  const t0 = performance.now()
  const primes = countPrimes(job.n)
  const cpuMs = performance.now() - t0
  parentPort?.postMessage({ id: job.id, primes, cpuMs })
})
// #endregion worker
