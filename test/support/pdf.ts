// The PDF handout in tests: export it the way `npm run export` does, then read its pages back with
// poppler (`apt-get install poppler-utils`: pdfinfo, pdftoppm, pdftotext; .ci/run installs it).
import { execFile, spawn } from 'node:child_process'
import { join, resolve as resolvePath } from 'node:path'

const PROJECT_ROOT = join(import.meta.dirname, '../..')

/** What one export took. */
export interface PdfExport {
  /** Pages in the PDF (pdfinfo): one per slide, or one per click step with `--with-clicks`. */
  pages: number
  /** Wall time of the export script, start to exit, in milliseconds. */
  ms: number
}

/**
 * Runs the export script (`scripts/export.ts`, what `npm run export` runs: `slidev export` on the
 * system Chromium) as a child process, writing the PDF to `outPath` (absolute, or relative to the
 * project root; a missing `.pdf` is added, as Slidev does). `args` go to `slidev export` too, e.g.
 * `['--with-clicks']`. It runs in its own process group; past `timeoutMs` (default 300 s, about 8x
 * a 2-core machine's export) the whole group (the script, Slidev's Vite server, Chromium) gets
 * SIGTERM, then SIGKILL 5 s later, and this rejects; so does an exit other than 0. Either error
 * carries the end of the script's output (which says `apt-get install chromium` when there is no
 * Chromium). Needs pdfinfo for the page count.
 */
export async function exportPdf(outPath: string, { args = [], timeoutMs = 300_000 }: { args?: string[], timeoutMs?: number } = {}): Promise<PdfExport> {
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/export.ts', '--output', outPath, ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a kill reaches Slidev, Vite and Chromium too
  })
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal)
    }
    catch {}
  }
  // Should the test process end first (a test timeout), the export does not outlive it.
  const onExit = () => killGroup('SIGKILL')
  process.once('exit', onExit)
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d })
  child.stderr.on('data', (d: Buffer) => { out += d })
  const exited = new Promise<number | string>(resolve => child.once('exit', (code, signal) => resolve(signal ?? code ?? 'unknown')))
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroup('SIGTERM')
    setTimeout(() => killGroup('SIGKILL'), 5000).unref()
  }, timeoutMs)
  const status = await exited
  clearTimeout(timer)
  process.removeListener('exit', onExit)
  const ms = performance.now() - started
  const tail = out.trim().split('\n').slice(-20).join('\n')
  if (timedOut)
    throw new Error(`the export took longer than ${timeoutMs / 1000} s and was killed:\n${tail}`)
  if (status !== 0)
    throw new Error(`the export failed (${status}) after ${(ms / 1000).toFixed(0)} s:\n${tail}`)
  const pdf = outPath.endsWith('.pdf') ? outPath : `${outPath}.pdf`
  return { pages: await pdfPages(resolvePath(PROJECT_ROOT, pdf)), ms }
}

/** Pages in the PDF at `pdf`, from pdfinfo. Rejects if pdfinfo is missing (saying `apt-get install poppler-utils`) or cannot read the file. */
export async function pdfPages(pdf: string): Promise<number> {
  const info = await poppler('pdfinfo', [pdf])
  const m = /^Pages:\s+(\d+)$/m.exec(info)
  if (!m)
    throw new Error(`pdfinfo printed no page count for ${pdf}:\n${info}`)
  return Number(m[1])
}

/**
 * Rasterizes page `page` (1-based) of `pdf` to the PNG file `outPng` (its name must end in `.png`;
 * it is overwritten) at `dpi` dots per inch, with pdftoppm. A page of the deck is 744 x 418.5 pt
 * (992 x 558 CSS px), so 48 dpi (the default) gives a 496 x 279 pixel PNG, 96 dpi 992 x 558.
 * Resolves with `outPng`. Rejects if pdftoppm is missing (saying `apt-get install poppler-utils`),
 * or on a page the PDF does not have.
 */
export async function renderPage(pdf: string, page: number, outPng: string, dpi = 48): Promise<string> {
  if (!outPng.endsWith('.png'))
    throw new Error(`renderPage writes PNG: ${outPng} does not end in .png`)
  checkPage(page)
  // -singlefile: pdftoppm writes <root>.png, with no page number in the name.
  await poppler('pdftoppm', ['-png', '-r', String(dpi), '-f', String(page), '-l', String(page), '-singlefile', pdf, outPng.slice(0, -'.png'.length)])
  return outPng
}

/**
 * The text of page `page` (1-based) of `pdf`, in reading order, from pdftotext (lines joined with
 * `\n`, no trailing form feed). Rejects if pdftotext is missing (saying `apt-get install
 * poppler-utils`), or on a page the PDF does not have.
 */
export async function pdfText(pdf: string, page: number): Promise<string> {
  checkPage(page)
  const text = await poppler('pdftotext', ['-f', String(page), '-l', String(page), '-enc', 'UTF-8', pdf, '-'])
  return text.replace(/\f$/, '')
}

function checkPage(page: number): void {
  if (!Number.isInteger(page) || page < 1)
    throw new Error(`page is 1-based: ${page}`)
}

/** Runs one poppler tool; resolves with its stdout. */
function poppler(tool: 'pdfinfo' | 'pdftoppm' | 'pdftotext', args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT')
        reject(new Error(`${tool} not found: apt-get install poppler-utils`))
      else if (err)
        reject(new Error(`${tool} ${args.join(' ')} failed: ${stderr.trim() || err.message}`))
      else
        resolve(stdout)
    })
  })
}
