import { defineConfig } from 'vite'

// Slidev merges this into its own Vite config. Kept for project-wide tweaks; nothing here
// needs to work around the build any more (see the overrides in package.json for that).
export default defineConfig({})
