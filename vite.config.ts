import { defineConfig } from 'vite'

// Slidev merges this into its own Vite config.
export default defineConfig({
  optimizeDeps: {
    // Pre-bundled at start-up. Otherwise Vite finds them only when the presenter view or the
    // overview first loads (Slidev's recording and export tools) and re-optimizes mid-session:
    // open pages then fail their dynamic imports with "504 Outdated Optimize Dep".
    include: ['recordrtc', 'ansis', 'file-saver', '@fix-webm-duration/fix', '@shikijs/engine-javascript'],
  },
})
