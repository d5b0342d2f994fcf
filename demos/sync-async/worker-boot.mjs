// Node 20 cannot load worker.ts by itself, and worker threads do not inherit tsx's loader:
// this plain-JS entry registers tsx inside the thread, then loads the TypeScript worker.
import { tsImport } from 'tsx/esm/api'

await tsImport('./worker.ts', import.meta.url)
