import { defineConfig } from 'vite'

// Slidev merges this into its own Vite config.
export default defineConfig({
  optimizeDeps: {
    // Pre-bundled at start-up. Otherwise Vite finds them only when the presenter view or the
    // overview first loads (Slidev's recording and export tools) and re-optimizes mid-session:
    // open pages then fail their dynamic imports with "504 Outdated Optimize Dep".
    include: ['recordrtc', 'ansis', 'file-saver', '@fix-webm-duration/fix', '@shikijs/engine-javascript'],
  },
  build: {
    rolldownOptions: {
      // Rolldown ends a build that took a while with a [PLUGIN_TIMINGS] warning naming the slowest
      // plugins (Slidev's Markdown and Vue transforms, by design): on a busy machine it shows on every
      // build and reads like a problem. Off here; `npx vite build --debug` still shows where time goes.
      checks: { bundlerTimings: false },
    },
  },
})
