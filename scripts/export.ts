// `npm run export`: the PDF handout, `slidev export` driving this machine's Chromium (no browser
// download): exports/how-backends-talk.pdf (git-ignored), then its page count and how long it took.
// Arguments after `--` go to `slidev export` as they are (`npm run export -- --output x.pdf`,
// `--range 1-10`, `--with-clicks`, ...; `npx slidev export --help` lists them); an --output,
// --timeout or --executable-path given there replaces this script's default. A --range also turns on
// --per-slide: Slidev 53 honours --range only per slide. Its one-piece print page (the default)
// takes the range from `useNav()`'s `printRange`, read once from the route's query when the shared
// nav state is created, and prints every slide whatever --range says (slidevjs/slidev#2227).
import { spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, mkdirSync } from 'node:fs'
import { delimiter, dirname, join, relative, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { startEntryPoint } from '../demos/platform/config.ts'

/** The project root (where slides.md is); `slidev export` runs there, and a relative --output is taken from there. */
const PROJECT_ROOT = join(import.meta.dirname, '..')
/** Where the handout goes unless --output says otherwise (exports/ is git-ignored). */
const DEFAULT_OUTPUT = 'exports/how-backends-talk.pdf'
/**
 * Slidev's --timeout (ms): how long the print page (every slide at once, compiled on first load by
 * Slidev's dev server) may take to load. Slidev's own 30 s is too short on a busy 2-core machine.
 */
const TIMEOUT_MS = 300_000

startEntryPoint('export')

/** The Chromium to drive: CHROMIUM_PATH, else /usr/bin/chromium, else chromium, chromium-browser or google-chrome on PATH. */
function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CHROMIUM_PATH) {
    if (!isExecutable(env.CHROMIUM_PATH))
      throw new Error(`CHROMIUM_PATH is ${env.CHROMIUM_PATH}, which is not an executable file. Point it at a Chromium/Chrome binary, or unset it to use /usr/bin/chromium.`)
    return env.CHROMIUM_PATH
  }
  if (isExecutable('/usr/bin/chromium'))
    return '/usr/bin/chromium'
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
      if (isExecutable(join(dir, name)))
        return join(dir, name)
    }
  }
  throw new Error('No Chromium found (looked at CHROMIUM_PATH, /usr/bin/chromium, and chromium, chromium-browser, google-chrome on PATH). Install it with `apt-get install chromium`, or set CHROMIUM_PATH to a Chromium/Chrome binary.')
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  }
  catch {
    return false
  }
}

/** Pages in the PDF at `path`, from poppler's `pdfinfo`; undefined when pdfinfo is not installed or cannot read it. */
function pdfPages(path: string): number | undefined {
  const info = spawnSync('pdfinfo', [path], { encoding: 'utf8' })
  const m = info.status === 0 ? /^Pages:\s+(\d+)$/m.exec(info.stdout) : null
  return m ? Number(m[1]) : undefined
}

const args = process.argv.slice(2)
// Only read what this script needs to know; everything, these included, goes to Slidev unchanged.
const { values } = parseArgs({
  args,
  options: {
    'output': { type: 'string' },
    'format': { type: 'string' },
    'timeout': { type: 'string' },
    'executable-path': { type: 'string' },
    'range': { type: 'string' },
    'per-slide': { type: 'boolean' },
  },
  strict: false,
  allowPositionals: true,
})
const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined

let chromium = str(values['executable-path'])
if (!chromium) {
  try {
    chromium = findChromium()
  }
  catch (err) {
    console.error(`[export] ${(err as Error).message}`)
    process.exit(1)
  }
}

const format = str(values.format) ?? 'pdf'
let output = str(values.output) ?? DEFAULT_OUTPUT
// Slidev adds .pdf to a PDF's name when it is missing; so does this, to find the file afterwards.
if (format === 'pdf' && !output.endsWith('.pdf'))
  output += '.pdf'
const outPath = resolve(PROJECT_ROOT, output)
mkdirSync(format === 'pdf' ? dirname(outPath) : outPath, { recursive: true })

const slidevArgs = [
  'export',
  ...(values['executable-path'] === undefined ? ['--executable-path', chromium] : []),
  ...(values.timeout === undefined ? ['--timeout', String(TIMEOUT_MS)] : []),
  ...(values.output === undefined ? ['--output', output] : []),
  ...(values.range !== undefined && values['per-slide'] === undefined ? ['--per-slide'] : []),
  ...args,
]
console.log(`[export] slidev ${slidevArgs.join(' ')}`)
/**
 * `slidev export` opens with "[Slidev] Try the new browser exporter!" and a line on how to reach it,
 * which read like a warning; Slidev has no option to turn them off short of turning its browser
 * exporter (/export on the dev server) off as well, so they are dropped here. Everything else passes.
 */
const ADVERT = /Try the new browser exporter!|You can use the browser exporter instead/
/**
 * The print page was navigated away from while it loaded: on a first run Vite can find a dependency
 * to pre-bundle only as the page imports it, and then reloads the page (a CI run on a clean clone saw
 * `page.goto: net::ERR_ABORTED at …/print`). A second export finds them bundled.
 */
const RELOADED = /net::ERR_ABORTED/

/** Runs `slidev export` once; resolves with its exit code (or signal) and whether the print page was reloaded under it. */
async function slidevExport(): Promise<{ code: number | null, signal: NodeJS.Signals | null, reloaded: boolean }> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'node_modules/@slidev/cli/bin/slidev.mjs'), ...slidevArgs], {
    cwd: PROJECT_ROOT,
    // Slidev's output passes through, less its advert; stderr (its progress bar, its errors) is read for RELOADED too.
    stdio: ['inherit', 'pipe', 'pipe'],
    env: process.stdout.isTTY ? { ...process.env, FORCE_COLOR: '1' } : process.env,
  })
  let reloaded = false
  createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
    reloaded ||= RELOADED.test(line)
    if (!ADVERT.test(line))
      process.stdout.write(`${line}\n`)
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    reloaded ||= RELOADED.test(String(chunk))
    process.stderr.write(chunk)
  })
  // Ctrl-C reaches Slidev too (same process group); a SIGTERM to this script is passed on.
  const onTerm = () => child.kill('SIGTERM')
  process.on('SIGTERM', onTerm)
  // 'close', not 'exit': after the last of its output has been read and passed on.
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(r => child.once('close', (c, s) => r([c, s])))
  process.off('SIGTERM', onTerm)
  return { code, signal, reloaded }
}

const started = performance.now()
let run = await slidevExport()
if (run.code !== 0 && run.reloaded) {
  console.error('[export] the print page was reloaded while it loaded (Vite bundled a dependency it met for the first time): exporting once more')
  run = await slidevExport()
}
const seconds = ((performance.now() - started) / 1000).toFixed(0)
if (run.code !== 0) {
  console.error(`[export] slidev export failed (${run.signal ?? `exit ${run.code}`}) after ${seconds} s`)
  process.exit(run.code || 1)
}
// Inside the project by its relative path (exports/...), elsewhere by its absolute one.
const rel = relative(process.cwd(), outPath)
const shown = rel && !rel.startsWith('..') ? rel : outPath
if (format !== 'pdf') {
  console.log(`[export] ${shown} (${format}) in ${seconds} s`)
}
else {
  const pages = pdfPages(outPath)
  console.log(`[export] ${shown}: ${pages === undefined ? 'page count unknown (no pdfinfo: apt-get install poppler-utils)' : `${pages} pages`} in ${seconds} s`)
}
