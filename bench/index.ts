// `npm run bench`: runs every benchmark section, prints one markdown report and writes JSON
// to bench/results/. Numbers from one run on one machine: compare ratios, not absolutes.
import type { BenchSection } from './lib.ts'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cpus } from 'node:os'

/**
 * Each module exports `default async function (): Promise<BenchSection[]>`. An `optIn` section runs
 * only when named (`npx tsx bench/index.ts held-100k`), never in a plain `npm run bench`.
 */
const sections: Array<{ name: string, optIn?: true, load: () => Promise<{ default: () => Promise<BenchSection[]> }> }> = [
  // Sections register here, one line each: { name: 'http-patterns', load: () => import('./http-patterns.ts') },
  { name: 'http-patterns', load: () => import('./http-patterns.ts') },
  { name: 'rabbitmq', load: () => import('./rabbitmq.ts') },
  { name: 'deck', load: () => import('./deck.ts') },
  { name: 'audience', load: () => import('./audience.ts') },
  { name: 'audience-votes', load: () => import('./audience-votes.ts') },
  // 100,000 held event streams (BENCH_HELD): needs ~4 GB and a high `ulimit -Hn`, so only on request.
  { name: 'held-100k', optIn: true, load: () => import('./held.ts') },
]

function table(s: BenchSection): string {
  const head = `| ${s.columns.join(' | ')} |\n|${s.columns.map(() => ' --- ').join('|')}|`
  const body = s.rows.map(r => `| ${r.join(' | ')} |`).join('\n')
  return `### ${s.title}\n\n${head}\n${body}\n${(s.notes ?? []).map(n => `\n> ${n}`).join('')}\n`
}

const only = process.argv.slice(2)
const USAGE = `Usage: npm run bench [-- section ...]; sections: ${sections.map(s => s.name + (s.optIn ? ' (only when named)' : '')).join(', ')} (default: all the others)`
if (only.includes('--help') || only.includes('-h')) {
  console.log(USAGE)
  process.exit(0)
}
const unknown = only.filter(name => !sections.some(s => s.name === name))
if (unknown.length) {
  console.error(`[bench] no section ${unknown.join(', ')}. ${USAGE}`)
  process.exit(2)
}
const results: Record<string, BenchSection[]> = {}
const failures: string[] = []
const started = performance.now()
console.log(`# wire-patterns benchmark\n\nNode ${process.version}, ${cpus().length} cores, ${new Date().toISOString()}\n`)
for (const s of sections) {
  if (only.length ? !only.includes(s.name) : s.optIn)
    continue
  const mod = await s.load()
  let out: BenchSection[]
  try {
    out = await mod.default()
  }
  catch (err) { // a section that cannot run at all (no broker, no browser) is one failed row
    out = [{ title: s.name, columns: ['failed'], rows: [[(err as Error).message]], failed: [(err as Error).message] }]
  }
  results[s.name] = out
  for (const sec of out) {
    console.log(table(sec))
    failures.push(...(sec.failed ?? []).map(f => `${s.name}: ${f}`))
  }
}
const dir = join(import.meta.dirname, 'results')
mkdirSync(dir, { recursive: true })
const file = join(dir, `bench-${Date.now()}.json`)
writeFileSync(file, JSON.stringify({ node: process.version, date: new Date().toISOString(), results }, null, 2))
console.log(`JSON written to ${file}; ${((performance.now() - started) / 1000).toFixed(0)} s`)
if (failures.length) {
  console.error(`\n${failures.length} row(s) could not complete:\n${failures.map(f => `  - ${f}`).join('\n')}`)
  process.exit(1)
}
process.exit(0)
