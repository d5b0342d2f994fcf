// Where the deck finds the demo server, said at run time by whoever serves the deck: `npm start`
// serves the built deck with its own version of this file (window.__DEMO_URL__ = "<url>"),
// so one build works with any DEMO_PORT. This copy says nothing: the deck then uses VITE_DEMO_URL
// if it was set at build time, or none, and its demos replay their recordings (composables/demo.ts).
